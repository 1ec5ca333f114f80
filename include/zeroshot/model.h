// zeroshot: zero-shot image classification with CLIP and SigLIP.
//
//   #include <zeroshot/zeroshot.h>
//   auto model = zeroshot::Model::load({.repo = "openai/clip-vit-base-patch32"});
//   auto image = zeroshot::Image::from_file("dog.jpg");
//   std::vector<std::string> labels = {"a dog", "a cat", "a sports car"};
//   for (const auto& s : model.classify(image, labels))
//     std::printf("%.3f %s\n", s.score, s.label.c_str());
//
// Many images against the same labels: prepare them once (their text embeddings), then score.
//   const zeroshot::LabelSet set = model.prepare_labels(labels);
//   auto scores = model.classify(image, set);  // for each image: no text-tower pass
//
// Thread safety: a loaded Model is immutable; every const method may be called from any number of
// threads at once. Copies are cheap and share the weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zeroshot/hub.h"
#include "zeroshot/image.h"

namespace zeroshot {

inline constexpr std::string_view kDefaultRepo = "openai/clip-vit-base-patch32";
inline constexpr std::string_view kDefaultTemplate = "a photo of {label}";

// Arithmetic of the transformer's matrix products.
enum class Precision {
  kFloat32,  // exact to Hugging Face's float32 results (within float rounding)
  // The vision tower's linear weights quantised to int8 per output channel at load, activations
  // to uint8 per call: image embeddings several times faster on CPUs with VNNI, at a small
  // accuracy cost (bench/README.md). Text embeddings stay float32 (they are cached).
  kInt8,
};

struct LoadOptions {
  // A local folder in the Hugging Face CLIPModel or SiglipModel layout, or a hub repo id
  // ("org/name"). config.json's model_type picks the family ("clip" when absent).
  std::string repo = std::string(kDefaultRepo);
  // Branch, tag or commit hash, for repo ids.
  std::string revision = "main";
  // Threads each call of this model uses; 0 = all cores (or the calling thread's OpenMP setting:
  // OMP_NUM_THREADS, omp_set_num_threads). When your own threads call the model at once, give
  // each a share (cores / your threads) so that they do not oversubscribe the cores.
  int threads = 0;
  Precision precision = Precision::kFloat32;
  // Text embeddings kept per model (least recently used dropped): labels seen before cost
  // nothing. 0 disables the cache.
  std::size_t text_cache_entries = 16384;
  // Called while a hub repo downloads (not for local folders or cached models).
  ProgressCallback progress = nullptr;
};

struct ClassifyOptions {
  // Wrapped around each label (every "{label}" replaced; it must have one). std::nullopt = labels
  // verbatim. Used when `templates` is empty.
  std::optional<std::string> prompt_template = std::string(kDefaultTemplate);
  // A prompt ensemble (replaces prompt_template when not empty): every label is put in every
  // template, and its text embedding is the L2-normalised mean of those prompts' L2-normalised
  // embeddings (OpenAI's prompt ensembling). template_set("openai-imagenet-80") (templates.h)
  // gives OpenAI's ImageNet templates. One template gives exactly prompt_template's results.
  std::vector<std::string> templates = {};
  // Keep only the best top_k labels (0 = every label). Scores stay the softmax over all labels.
  int top_k = 0;
};

// How a model turns logits into scores (its family's, as Hugging Face's zero-shot pipeline).
enum class ScoreKind {
  kSoftmax,  // CLIP: a softmax over all the given labels; the scores sum to 1
  kSigmoid,  // SigLIP: sigmoid(logit) per label, independent of the other labels (no sum to 1)
};

struct LabelScore {
  std::string label;  // the caller's label, not the templated prompt
  float score;        // softmax of the logits over all the given labels, or (SigLIP) the sigmoid
                      // of this label's logit: see Model::score_kind()
  float logit = 0;    // exp(logit_scale) * cosine (+ logit_bias for SigLIP): what the score takes
  float cosine = 0;   // cosine of the image and label embeddings, in [-1, 1]
};

class Model;

// Labels prepared once by Model::prepare_labels for scoring many images: the labels and their
// text embeddings ([labels, dim], L2-normalised; with several templates each label's ensemble
// mean). An immutable value, cheap to copy (copies share the embeddings), usable from any thread;
// it belongs to the model that prepared it (or a copy of that Model): another model refuses it.
class LabelSet {
 public:
  const std::vector<std::string>& labels() const;  // as given (not the templated prompts)
  std::size_t size() const;
  int embedding_dim() const;
  // [labels, embedding_dim] row-major: label i's L2-normalised text embedding at i * dim.
  std::span<const float> embeddings() const;
  std::span<const float> embedding(std::size_t label) const;  // [embedding_dim]

  struct Data;

 private:
  friend class Model;
  explicit LabelSet(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;
};

class Model {
 public:
  // Loads once: reads and checks the config, tokenizer and weights. Throws zeroshot::Error.
  static Model load(const LoadOptions& options = {});

  // Every label (the best options.top_k of them, if set) with its score, sorted by descending
  // score; for CLIP the scores of all labels sum to 1, for SigLIP each is independent.
  std::vector<LabelScore> classify(const Image& image, std::span<const std::string> labels,
                                   const ClassifyOptions& options = {}) const;
  // classify() for several images, run as batches through the vision tower (faster per image).
  std::vector<std::vector<LabelScore>> classify_batch(std::span<const Image> images,
                                                      std::span<const std::string> labels,
                                                      const ClassifyOptions& options = {}) const;
  // classify() for an image embedding computed before (embed_image / embed_images): exactly the
  // scores classify() gives that image. For callers that run one batch of images whose labels
  // differ per image (the HTTP server batches requests of different clients).
  std::vector<LabelScore> classify_embedding(std::span<const float> image_embedding,
                                             std::span<const std::string> labels,
                                             const ClassifyOptions& options = {}) const;

  // Labels with their text embeddings under options' template(s) (the ensemble mean when more
  // than one; options.top_k is not part of it), to score many images against. Throws
  // zeroshot::Error (kInvalidArgument) for no labels, a template without {label}, a negative
  // top_k or a label the tokenizer refuses: before any image work.
  LabelSet prepare_labels(std::span<const std::string> labels,
                          const ClassifyOptions& options = {}) const;
  // classify(), classify_batch() and classify_embedding() against prepared labels: the same
  // scores, without preparing the labels again. top_k as ClassifyOptions::top_k. A LabelSet of
  // another model (another load) is an Error (kInvalidArgument).
  std::vector<LabelScore> classify(const Image& image, const LabelSet& labels, int top_k = 0) const;
  std::vector<std::vector<LabelScore>> classify_batch(std::span<const Image> images,
                                                      const LabelSet& labels, int top_k = 0) const;
  std::vector<LabelScore> classify_embedding(std::span<const float> image_embedding,
                                             const LabelSet& labels, int top_k = 0) const;

  // The best label of classify().
  std::string label(const Image& image, std::span<const std::string> labels,
                    const ClassifyOptions& options = {}) const;
  // Cosine similarity of the two image embeddings, in [-1, 1] (zeroshot::cosine of them).
  float similarity(const Image& a, const Image& b) const;

  // L2-normalised projected embeddings ([projection_dim]).
  std::vector<float> embed_image(const Image& image) const;
  std::vector<float> embed_text(std::string_view text) const;
  // Several at once (batched; texts go through the model's text embedding cache).
  std::vector<std::vector<float>> embed_images(std::span<const Image> images) const;
  std::vector<std::vector<float>> embed_texts(std::span<const std::string> texts) const;
  // The model's token ids for text, truncated to its text length: CLIP <|startoftext|> ...
  // <|endoftext|>; SigLIP the SentencePiece ids ending with </s> (not padded).
  std::vector<int> tokenize(std::string_view text) const;

  // Lookups of the text embedding cache since load (all copies of this Model together).
  struct TextCacheStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t entries = 0;
  };
  TextCacheStats text_cache_stats() const;

  int embedding_dim() const;
  // exp(logit_scale): the factor from cosine to logits.
  float logit_scale() const;
  // Added to every logit: SigLIP's logit_bias; 0 for CLIP.
  float logit_bias() const;
  // Softmax (CLIP) or independent sigmoid (SigLIP) scores.
  ScoreKind score_kind() const;
  // The folder the model was loaded from.
  const std::string& folder() const;
  // DecodeOptions for images this model will see: `mode` with the model's resize step as the
  // target of a fast decode (none when its preprocessing does not resize).
  //   auto image = Image::from_file("photo.jpg", model.decode_options(DecodeMode::kFast));
  DecodeOptions decode_options(DecodeMode mode,
                               std::uint64_t max_pixels = DecodeOptions{}.max_pixels) const;

  struct Impl;

 private:
  explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The cosine of two L2-normalised embeddings (embed_image, embed_text, LabelSet rows): their dot
// product, accumulated in double, clamped to [-1, 1]. What Model::similarity and the scores'
// `cosine` give. Vectors of different sizes are an Error (kInvalidArgument).
float cosine(std::span<const float> a, std::span<const float> b);

// Convenience entry points: load `repo` once per process (a shared cache) and call the model.
struct Options {
  std::string repo = std::string(kDefaultRepo);
  std::string revision = "main";
  // As ClassifyOptions.
  std::optional<std::string> prompt_template = std::string(kDefaultTemplate);
  std::vector<std::string> templates = {};
  int top_k = 0;
};
std::vector<LabelScore> classify(const Image& image, std::span<const std::string> labels,
                                 const Options& options = {});
std::string label(const Image& image, std::span<const std::string> labels,
                  const Options& options = {});
float similarity(const Image& a, const Image& b, const Options& options = {});
// The process-wide cached model for these options (loaded on first use, once even under races).
Model cached_model(const Options& options = {});

}  // namespace zeroshot
