// The towers' parts of a Hugging Face config.json as plain data, shared by every model family: a
// transformer encoder and the text and vision towers around it. Each family's config (family/*/)
// holds these with its own Hugging Face defaults; the model is built from them.
#pragma once

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

// A text_config. The defaults are zero: a family's config gives its own.
struct TextConfig {
  EncoderConfig encoder;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  // The pooled (end) token of a causal text tower: 2 (the legacy value of the openai repos) means
  // "argmax of the ids", which is the first end token; any other value means "the first position
  // holding this id" (as HF). Unused by towers that pool another way.
  int eos_token_id = -1;
};

// A vision_config. The defaults are zero: a family's config gives its own.
struct VisionConfig {
  EncoderConfig encoder;
  int image_size = 0;
  int patch_size = 0;
  int num_channels = 3;
};

}  // namespace zeroshot::config
