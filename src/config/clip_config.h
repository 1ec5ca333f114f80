// config.json and preprocessor_config.json of a Hugging Face CLIP model, with Hugging Face's
// defaults (transformers' CLIPTextConfig, CLIPVisionConfig, CLIPConfig, CLIPImageProcessor) for
// every missing field. Plain data: the model and the image preprocessing are built from these.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace zeroshot::config {

enum class Activation {
  kQuickGelu,  // "quick_gelu": x * sigmoid(1.702 x)
  kGelu,       // "gelu": exact, x * 0.5 * (1 + erf(x / sqrt(2)))
  kGeluTanh,   // "gelu_new", "gelu_pytorch_tanh", "gelu_fast": tanh approximation
};

struct EncoderConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  float layer_norm_eps = 1e-5f;
  Activation activation = Activation::kQuickGelu;
};

struct TextConfig {
  EncoderConfig encoder{512, 2048, 12, 8, 1e-5f, Activation::kQuickGelu};
  int vocab_size = 49408;
  int max_position_embeddings = 77;
  // Pooling: 2 (the legacy value of the openai repos) means "argmax of the ids", which is the
  // first <|endoftext|>; any other value means "the first position holding this id" (as HF).
  int eos_token_id = 49407;
};

struct VisionConfig {
  EncoderConfig encoder{768, 3072, 12, 12, 1e-5f, Activation::kQuickGelu};
  int image_size = 224;
  int patch_size = 32;
  int num_channels = 3;
};

struct ClipConfig {
  TextConfig text;
  VisionConfig vision;
  int projection_dim = 512;
};

// Parses config.json text; `source` names the file in error messages. Throws zeroshot::Error
// (kModelInvalid) for malformed JSON, wrong types and absurd values (non-positive sizes, heads
// that do not divide the width, ...), naming the field.
ClipConfig parse_clip_config(std::string_view json, const std::string& source);

enum class Resample {
  kNearest = 0,
  kLanczos = 1,
  kBilinear = 2,
  kBicubic = 3,
  kBox = 4,
  kHamming = 5
};

struct PreprocessorConfig {
  bool do_resize = true;
  int shortest_edge = 224;  // "size": 224 or {"shortest_edge": 224}
  int resize_height = 0;    // "size": {"height": h, "width": w}: an exact size (SigLIP), else 0
  int resize_width = 0;
  Resample resample = Resample::kBicubic;
  bool do_center_crop = true;
  int crop_height = 224;  // "crop_size": 224 or {"height": 224, "width": 224}
  int crop_width = 224;
  bool do_rescale = true;
  float rescale_factor = 1.0f / 255.0f;
  bool do_normalize = true;
  std::array<float, 3> image_mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std{0.26862954f, 0.26130258f, 0.27577711f};
  bool do_convert_rgb = true;
};

// Parses preprocessor_config.json text; throws zeroshot::Error (kModelInvalid) naming the field.
PreprocessorConfig parse_preprocessor_config(std::string_view json, const std::string& source);

}  // namespace zeroshot::config
