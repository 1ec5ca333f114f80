// Writes CLIP and SigLIP model folders with random weights in the Hugging Face layout, for tests
// of other configurations and for full-size benchmarks (the real weights cannot be downloaded
// here).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace zeroshot::testing {

enum class WeightType { kF32, kF16, kBF16 };

// "f16" -> kF16, "bf16" -> kBF16, anything else kF32 (the generators' command-line argument).
inline WeightType weight_type_from(const std::string& name) {
  return name == "f16" ? WeightType::kF16 : name == "bf16" ? WeightType::kBF16 : WeightType::kF32;
}

struct RandomClipOptions {
  // config.json contents; missing fields take Hugging Face's defaults (an empty object gives a
  // ViT-B/32 CLIP).
  nlohmann::json config = nlohmann::json::object();
  // preprocessor_config.json; null = the openai repos' file (size {"shortest_edge": 224}).
  nlohmann::json preprocessor = nullptr;
  WeightType weight_type = WeightType::kF32;
  std::uint64_t seed = 1;
  // Folder whose tokenizer files (tokenizer.json, vocab.json, merges.txt, ...) are copied.
  std::string tokenizer_from;
};

// Creates `folder` (and parents) with config.json, preprocessor_config.json, the tokenizer files
// and model.safetensors holding every tensor of HF's CLIPModel (plus the int64 position_ids
// buffers) with random values: N(0, 0.02) for matrices and embeddings, 1 + N(0, 0.02) for layer
// norm weights, logit_scale = ln(100).
void write_random_clip(const std::string& folder, const RandomClipOptions& options);

struct RandomSiglipOptions {
  // config.json contents (model_type "siglip" is set); missing fields take Hugging Face's
  // defaults (an empty object gives google/siglip-base-patch16-224's shapes).
  nlohmann::json config = nlohmann::json::object();
  WeightType weight_type = WeightType::kF32;
  std::uint64_t seed = 1;
  // Folder whose spiece.model (and tokenizer_config.json, if any) is copied.
  std::string tokenizer_from;
  // Non-empty: SigLIP 2's fixed-resolution layout instead of SigLIP's: this Gemma-style
  // tokenizer.json (no spiece.model; tokenizer_from is not read), Gemma's tokenizer_config.json
  // (<pad>, <eos>, 64 positions) and a bilinear resize (`resample` 2).
  std::string siglip2_tokenizer_json;
  // The stored logit_scale (a log) and logit_bias. The released models hold about ln(112) and
  // -16.5 (HF initialises log(10) and -10); these defaults keep random models' sigmoid scores
  // away from 0 and 1, where a wrong score would still pass a tolerance.
  float logit_scale = 2.302585f;  // ln(10)
  float logit_bias = -0.5f;
};

// A small SigLIP config.json body for tests: every width different (text 32 wide with a head to
// 40, vision 40 wide with 4 heads of 10, MLPs 48 and 56), patch 16 on 224 as the released base
// models, `layers` layers in each tower, `vocab_size` text ids.
nlohmann::json tiny_siglip_config(int layers, int vocab_size);

// Creates `folder` with config.json, preprocessor_config.json (SiglipImageProcessor's: 224x224,
// mean = std = 0.5), the tokenizer files and model.safetensors holding every tensor of HF's
// SiglipModel (vision_use_head on) with random values: N(0, 0.02) for matrices and embeddings,
// 1 + N(0, 0.02) for layer norm weights, N(0, 1) for the pooling head's probe.
void write_random_siglip(const std::string& folder, const RandomSiglipOptions& options);

}  // namespace zeroshot::testing
