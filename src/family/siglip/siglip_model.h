// SigLIP's text and vision towers (HF SiglipModel, modeling_siglip.py, transformers commit
// 1c51a62f5861390e994db1464e8a51f6d7fbacbc) on CPU in float32, on the shared CLIP-style encoder:
//   vision: patch embedding (a conv with bias, no class token) + learned positions, the pre-LN
//     encoder, post_layernorm, then the attention pooling head: a learned probe attends to every
//     patch (nn.MultiheadAttention), x = attn + mlp(layernorm(attn)); that row is the embedding.
//   text: token + position embeddings of the ids padded to max_position_embeddings, the encoder
//     with no mask at all (non-causal, the padding attended to), final_layer_norm, the last
//     position, `head` (a linear with bias).
//
// Thread safety: immutable after construction; const methods may run on many threads at once.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "family/siglip/siglip_config.h"
#include "kernels/gemm.h"
#include "tensor/view.h"

namespace zeroshot::family::siglip {

struct SiglipWeights;

class SiglipModel {
 public:
  // Checks every tensor (presence, dtype, shape) first; throws Error(kModelInvalid) naming
  // `source` and the tensor. kInt8 quantises the vision encoder layers' linears (the head stays
  // float32). float32 tensors are used in place from `mapping` (see clip::ClipModel).
  SiglipModel(const SiglipConfig& config, const tensor::NamedViews& weights,
              const std::string& source,
              kernels::GemmPrecision vision_precision = kernels::GemmPrecision::kF32,
              std::shared_ptr<const void> mapping = nullptr);
  ~SiglipModel();
  SiglipModel(SiglipModel&&) noexcept;
  SiglipModel& operator=(SiglipModel&&) noexcept;

  // pixels: [batch, 3, image_size, image_size] -> out: [batch, vision hidden], HF's
  // get_image_features (the pooling head's output, not normalised).
  void encode_images(const float* pixels, int batch, float* out) const;

  // prompts: each exactly max_position_embeddings ids (padded) -> out: [prompts, projection],
  // HF's get_text_features. Throws Error(kInvalidArgument) for another length or an id outside
  // the vocabulary.
  void encode_texts(std::span<const std::vector<int>> prompts, float* out) const;

  float logit_scale() const;
  float logit_bias() const;
  const SiglipConfig& config() const { return config_; }

 private:
  SiglipConfig config_;
  std::unique_ptr<const SiglipWeights> weights_;
};

}  // namespace zeroshot::family::siglip
