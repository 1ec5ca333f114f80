// The model-family seam: what a family (CLIP, SigLIP, ...) builds from a Hugging Face model folder,
// behind small interfaces, and what it declares about itself (its model_type, the files its folder
// holds, among them its tokenizer's, named with its kind, and its scoring), so that the api, the
// hub and the cache run any family without naming one. A family is one folder here (family/<name>/)
// with a `Family` value, listed once in registry.cc; it reuses the shared encoder, GEMM, attention,
// weight loader and image resampler.
//
// Thread safety: everything a family loads is immutable; every const method may run on many
// threads at once.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "image/preprocess.h"
#include "kernels/gemm.h"

namespace zeroshot::family {

// The two towers of a dual encoder.
class Towers {
 public:
  virtual ~Towers() = default;
  // pixels: [batch, 3, S, S] as the family's preprocessing gives them -> out: [batch,
  // embedding_dim()], HF's get_image_features (not normalised).
  virtual void encode_images(const float* pixels, int batch, float* out) const = 0;
  // prompts: ids as TextTokenizer::model_input gives them -> out: [prompts.size(),
  // embedding_dim()], HF's get_text_features (not normalised). Throws Error(kInvalidArgument)
  // for ids the tower cannot take.
  virtual void encode_texts(std::span<const std::vector<int>> prompts, float* out) const = 0;
  virtual int embedding_dim() const = 0;
};

class TextTokenizer {
 public:
  virtual ~TextTokenizer() = default;
  // The ids of `text` as the family's Hugging Face tokenizer gives them without padding,
  // truncated to the text tower's length. Throws Error(kInvalidArgument) for invalid UTF-8.
  virtual std::vector<int> encode(std::string_view text) const = 0;
  // What the text tower takes for `text` (SigLIP: padded to its fixed length).
  virtual std::vector<int> model_input(std::string_view text) const { return encode(text); }
};

// How cosines become scores.
enum class Scoring {
  kSoftmax,  // softmax over the labels of exp(logit_scale) * cosine (CLIP): they sum to 1
  kSigmoid,  // sigmoid(exp(logit_scale) * cosine + logit_bias) per label (SigLIP): independent
};

struct LoadedModel {
  std::unique_ptr<const Towers> towers;
  std::unique_ptr<const TextTokenizer> tokenizer;
  image::PreprocessParams preprocess;  // its output is what encode_images takes
  Scoring scoring = Scoring::kSoftmax;
  float logit_scale = 0;  // the stored weight (a log): logits use exp() of it
  float logit_bias = 0;   // added to the logits (SigLIP); 0 for softmax families
};

// A file a model folder must hold in one of several forms (the tokenizer: tokenizer.json, or
// vocab.json + merges.txt).
struct FileNeed {
  std::string what;                             // "the byte-level BPE tokenizer", for messages
  std::vector<std::vector<std::string>> forms;  // any one form, all its files there, meets it
  // Forms found in the wild that zeroshot does not read, each with why (pytorch_model.bin: a
  // pickle); a download missing the need names the one the repo has.
  struct Unread {
    std::string file;
    std::string why;
  };
  std::vector<Unread> unread;
};

// The files of a model folder besides config.json: the ones to download, in order (files of no
// need are optional: fetched when the repo has them), and the needs that make it complete.
struct FolderFiles {
  std::vector<std::string> fetch;
  std::vector<FileNeed> needs;
};

struct Family {
  // config.json's "model_type" this family loads (the first family registered also loads a
  // config.json without one).
  std::string_view model_type;
  Scoring scoring = Scoring::kSoftmax;
  // Its own files, after those of every folder (model.safetensors, preprocessor_config.json:
  // registry.cc): what to download and what it cannot do without.
  FolderFiles files;
  // Reads `folder` (config.json, model.safetensors, preprocessor_config.json, the tokenizer's
  // files); float32 weights stay in the file mapping. Throws zeroshot::Error naming the file.
  // The registry sets the result's `scoring` from the field above.
  LoadedModel (*load)(const std::string& folder, kernels::GemmPrecision vision_precision);
};

}  // namespace zeroshot::family
