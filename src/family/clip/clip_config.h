// config.json of a Hugging Face CLIP model (CLIPConfig with text_config and vision_config), with
// transformers' defaults (CLIPTextConfig, CLIPVisionConfig, CLIPConfig) for every missing field.
// Plain data: the towers are built from it.
#pragma once

#include <string>
#include <string_view>

#include "config/encoder_config.h"

namespace zeroshot::family::clip {

struct ClipConfig {
  // CLIPTextConfig: 512 wide, 12 layers, 8 heads, 2048 MLP, quick_gelu, eps 1e-5, vocab 49408,
  // 77 positions, end token 49407.
  config::TextConfig text{
      {512, 2048, 12, 8, 1e-5f, config::Activation::kQuickGelu}, 49408, 77, 49407};
  // CLIPVisionConfig: 768 wide, 12 layers, 12 heads, 3072 MLP, image 224, patch 32.
  config::VisionConfig vision{
      {768, 3072, 12, 12, 1e-5f, config::Activation::kQuickGelu}, 224, 32, 3};
  int projection_dim = 512;
};

// Parses config.json text; `source` names the file in error messages. Throws zeroshot::Error
// (kModelInvalid) for malformed JSON, wrong types and absurd values (non-positive sizes, heads
// that do not divide the width, ...), naming the field.
ClipConfig parse_clip_config(std::string_view json, const std::string& source);

}  // namespace zeroshot::family::clip
