// config.json of a Hugging Face SigLIP model (SiglipConfig with text_config and vision_config),
// with transformers' defaults (configuration_siglip.py) for every missing field.
#pragma once

#include <string>
#include <string_view>

#include "config/encoder_config.h"

namespace zeroshot::family::siglip {

struct SiglipConfig {
  // SiglipTextConfig: 768 wide, 12 layers, 12 heads, 3072 MLP, gelu_pytorch_tanh, eps 1e-6,
  // vocab 32000, 64 positions (the texts are padded to all of them).
  config::TextConfig text{{768, 3072, 12, 12, 1e-6f, config::Activation::kGeluTanh}, 32000, 64, 1};
  int text_projection_size = 768;  // the text head's output: projection_size, else hidden_size
  // SiglipVisionConfig: the same widths, patch 16, image 224.
  config::VisionConfig vision{
      {768, 3072, 12, 12, 1e-6f, config::Activation::kGeluTanh}, 224, 16, 3};
};

// Throws zeroshot::Error(kModelInvalid) naming the field for malformed or absurd values, for
// vision_use_head false (no pooled image embedding) and for text and image embeddings of
// different widths.
SiglipConfig parse_siglip_config(std::string_view json, const std::string& source);

}  // namespace zeroshot::family::siglip
