// The CLIP text and vision towers (HF transformers' CLIPModel) on CPU in float32.
//
//   auto file = safetensors::File::open(path);
//   family::clip::ClipModel clip(config, file.tensors(), "model.safetensors",
//                         kernels::GemmPrecision::kF32,
//                         file.mapping());  // float32 weights stay in the mapping, used in place
//   std::vector<float> image_embedding(clip.config().projection_dim);
//   clip.encode_images(pixels, /*batch=*/1, image_embedding.data());
//
// Thread safety: a ClipModel is immutable after construction; every const method may run on
// many threads at once (each call allocates its own scratch).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "family/clip/clip_config.h"
#include "kernels/gemm.h"
#include "tensor/view.h"

namespace zeroshot::family::clip {

struct ClipWeights;

class ClipModel {
 public:
  // Checks EVERY expected weight's presence, dtype (F32/F16/BF16; F16/BF16 are converted to
  // float32 here) and shape against the config. Throws zeroshot::Error(kModelInvalid) naming
  // `source` (the file name), the tensor and both shapes, e.g. "model.safetensors: tensor
  // 'vision_model.embeddings.patch_embedding.weight' has shape [768,3,16,16], config implies
  // [768,3,32,32]" or "model.safetensors: missing tensor 'text_projection.weight'". Unknown
  // tensors (position_ids buffers, ...) are ignored; logit_scale may have shape [] or [1].
  // vision_precision kInt8 quantises the vision encoder layers' linear weights; the text tower,
  // the patch embedding and the projections stay float32.
  // mapping: the read-only file mapping `weights` point into, shared with the model: float32
  // tensors are then used in place (load copies almost nothing, and memory stays one copy of the
  // file), the pages of converted ones leave the resident set once read (tensor::release_pages).
  // The file must not be truncated while the model lives (as with any mapped file). Without a
  // mapping every tensor is copied and `weights` may be released afterwards.
  ClipModel(const ClipConfig& config, const tensor::NamedViews& weights, const std::string& source,
            kernels::GemmPrecision vision_precision = kernels::GemmPrecision::kF32,
            std::shared_ptr<const void> mapping = nullptr);
  ~ClipModel();
  ClipModel(ClipModel&&) noexcept;
  ClipModel& operator=(ClipModel&&) noexcept;
  ClipModel(const ClipModel&) = delete;
  ClipModel& operator=(const ClipModel&) = delete;

  // pixels: [batch, channels, image_size, image_size] (normalised pixel_values) -> out: [batch,
  // projection_dim], projected and NOT normalised: HF's get_image_features.
  void encode_images(const float* pixels, int batch, float* out) const;

  // ids: one tokenised prompt (with start and end tokens), at most max_position_embeddings long
  // -> out: [projection_dim], HF's get_text_features (not normalised). Pools the end token: with
  // the legacy eos_token_id 2 at argmax(ids) (first maximum), otherwise at the first id equal to
  // eos_token_id; positions after it cannot change it (causal mask) and are not computed.
  // Throws zeroshot::Error(kInvalidArgument) for an empty or too long prompt, an id outside the
  // vocabulary or a prompt without the end token.
  void encode_text(std::span<const int> ids, float* out) const;

  // Several prompts in one pass (the GEMMs run over all their tokens at once) -> out:
  // [prompts.size(), projection_dim]. Same checks as encode_text.
  void encode_texts(std::span<const std::vector<int>> prompts, float* out) const;

  // The pooled position encode_text uses for `ids` (see there). Throws kInvalidArgument if none.
  int pooled_position(std::span<const int> ids) const;

  float logit_scale() const;  // the raw weight (a log): logits use exp() of it
  const ClipConfig& config() const { return config_; }

 private:
  ClipConfig config_;
  std::unique_ptr<const ClipWeights> weights_;
};

}  // namespace zeroshot::family::clip
