#include "model/clip_model.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/encoder.h"
#include "model/weights.h"
#include "tensor/buffer.h"
#include "zeroshot/error.h"

namespace zeroshot::model {
namespace {

void check_encoder(const config::EncoderConfig& c, const std::string& source,
                   const std::string& tower) {
  if (c.hidden_size <= 0 || c.intermediate_size <= 0 || c.num_layers < 0 || c.num_heads <= 0 ||
      c.hidden_size % c.num_heads != 0) {
    throw Error(ErrorCode::kModelInvalid,
                source + ": " + tower + " config has hidden_size " + std::to_string(c.hidden_size) +
                    ", " + std::to_string(c.num_heads) + " heads, intermediate_size " +
                    std::to_string(c.intermediate_size) +
                    "; expected positive sizes and heads dividing hidden_size");
  }
}

void check_config(const config::ClipConfig& c, const std::string& source) {
  check_encoder(c.text.encoder, source, "text");
  check_encoder(c.vision.encoder, source, "vision");
  if (c.projection_dim <= 0 || c.text.vocab_size <= 0 || c.text.max_position_embeddings <= 0 ||
      c.vision.num_channels <= 0 || c.vision.patch_size <= 0 ||
      c.vision.image_size < c.vision.patch_size) {
    throw Error(ErrorCode::kModelInvalid,
                source +
                    ": config needs positive projection_dim, vocab_size, "
                    "max_position_embeddings, num_channels and patch_size <= image_size");
  }
}

}  // namespace

ClipModel::ClipModel(const config::ClipConfig& config, const tensor::NamedViews& weights,
                     const std::string& source, bool int8, std::shared_ptr<const void> mapping)
    : config_(config) {
  check_config(config_, source);
  weights_ = std::make_unique<const ClipWeights>(
      load_weights(config_, weights, source, int8, std::move(mapping)));
}

ClipModel::~ClipModel() = default;
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;

float ClipModel::logit_scale() const { return weights_->logit_scale; }

void ClipModel::encode_images(const float* pixels, int batch, float* out) const {
  if (batch <= 0) return;
  const config::VisionConfig& vc = config_.vision;
  const VisionWeights& w = weights_->vision;
  const int hidden = vc.encoder.hidden_size;
  const int grid = vc.image_size / vc.patch_size;
  const int patches = grid * grid;
  const int tokens = patches + 1;  // class token first
  const int patch_in = vc.num_channels * vc.patch_size * vc.patch_size;
  const auto h = static_cast<std::size_t>(hidden);
  const std::size_t image_floats =
      static_cast<std::size_t>(vc.num_channels) * vc.image_size * vc.image_size;

  // Patch embedding (HF: Conv2d(stride = kernel = patch, bias=False)) as im2col + GEMM.
  tensor::Buffer columns(static_cast<std::size_t>(batch) * patches *
                         patch_in);  // [b*patches, c*p*p]
  for (int b = 0; b < batch; ++b) {
    kernels::im2col_patches(pixels + b * image_floats, vc.num_channels, vc.image_size,
                            vc.patch_size,
                            columns.data() + static_cast<std::size_t>(b) * patches * patch_in);
  }
  tensor::Buffer embedded(static_cast<std::size_t>(batch) * patches * h);  // [b*patches, hidden]
  kernels::linear(columns.data(), batch * patches, w.patch_embedding, embedded.data());

  // HF CLIPVisionEmbeddings: cat([class_embedding, patch_embeds]) + position_embedding.
  tensor::Buffer x(static_cast<std::size_t>(batch) * tokens * h);  // [b*tokens, hidden]
  std::vector<int> offsets(static_cast<std::size_t>(batch) + 1);
  for (int b = 0; b < batch; ++b) {
    offsets[static_cast<std::size_t>(b)] = b * tokens;
    float* xb = x.data() + static_cast<std::size_t>(b) * tokens * h;
    const float* pos = w.position_embedding.data();
    for (std::size_t i = 0; i < h; ++i) xb[i] = w.class_embedding[i] + pos[i];
    for (int t = 1; t < tokens; ++t) {
      const float* e = embedded.data() + (static_cast<std::size_t>(b) * patches + t - 1) * h;
      const float* p = pos + static_cast<std::size_t>(t) * h;
      float* xt = xb + static_cast<std::size_t>(t) * h;
      for (std::size_t i = 0; i < h; ++i) xt[i] = e[i] + p[i];
    }
  }
  offsets.back() = batch * tokens;

  kernels::layer_norm(x.data(), batch * tokens, hidden, w.pre_layernorm.gamma.data(),
                      w.pre_layernorm.beta.data(), vc.encoder.layer_norm_eps, x.data());
  run_encoder(w.layers, vc.encoder, /*causal=*/false, offsets, x.data());

  // HF CLIPVisionTransformer: pooled = post_layernorm(last_hidden_state[:, 0, :]).
  tensor::Buffer pooled(static_cast<std::size_t>(batch) * h);  // [b, hidden]
  for (int b = 0; b < batch; ++b) {
    kernels::layer_norm(x.data() + static_cast<std::size_t>(b) * tokens * h, 1, hidden,
                        w.post_layernorm.gamma.data(), w.post_layernorm.beta.data(),
                        vc.encoder.layer_norm_eps, pooled.data() + static_cast<std::size_t>(b) * h);
  }
  kernels::linear(pooled.data(), batch, w.projection, out);  // [b, projection_dim]
}

int ClipModel::pooled_position(std::span<const int> ids) const {
  const int eos = config_.text.eos_token_id;
  if (!ids.empty()) {
    if (eos == 2) {
      // HF's legacy branch: input_ids.argmax(-1) (the first maximum), which is the first
      // <|endoftext|> because it has the largest id of the vocabulary.
      return static_cast<int>(std::max_element(ids.begin(), ids.end()) - ids.begin());
    }
    // HF: (input_ids == eos_token_id).int().argmax(-1), the first match.
    const auto it = std::find(ids.begin(), ids.end(), eos);
    if (it != ids.end()) return static_cast<int>(it - ids.begin());
  }
  throw Error(ErrorCode::kInvalidArgument, "text of " + std::to_string(ids.size()) +
                                               " token ids has no end token " +
                                               std::to_string(eos));
}

void ClipModel::encode_text(std::span<const int> ids, float* out) const {
  const std::vector<int> prompt(ids.begin(), ids.end());
  encode_texts(std::span<const std::vector<int>>(&prompt, 1), out);
}

void ClipModel::encode_texts(std::span<const std::vector<int>> prompts, float* out) const {
  if (prompts.empty()) return;
  const config::TextConfig& tc = config_.text;
  const TextWeights& w = weights_->text;
  const int hidden = tc.encoder.hidden_size;
  const auto h = static_cast<std::size_t>(hidden);

  // Only the tokens up to the pooled one: later ones cannot reach it through the causal mask.
  std::vector<int> offsets(prompts.size() + 1, 0);
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<int>& ids = prompts[s];
    if (static_cast<int>(ids.size()) > tc.max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument,
                  "text of " + std::to_string(ids.size()) + " tokens is longer than " +
                      std::to_string(tc.max_position_embeddings) + " positions");
    }
    offsets[s + 1] = offsets[s] + pooled_position(ids) + 1;
  }
  const int rows = offsets.back();

  // HF CLIPTextEmbeddings: token_embedding(ids) + position_embedding(positions).
  tensor::Buffer x(static_cast<std::size_t>(rows) * h);  // [rows, hidden]
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    for (int t = 0; t < offsets[s + 1] - offsets[s]; ++t) {
      const int id = prompts[s][static_cast<std::size_t>(t)];
      if (id < 0 || id >= tc.vocab_size) {
        throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) +
                                                     " is outside the vocabulary of " +
                                                     std::to_string(tc.vocab_size));
      }
      const float* e = w.token_embedding.data() + static_cast<std::size_t>(id) * h;
      const float* p = w.position_embedding.data() + static_cast<std::size_t>(t) * h;
      float* xt = x.data() + static_cast<std::size_t>(offsets[s] + t) * h;
      for (std::size_t i = 0; i < h; ++i) xt[i] = e[i] + p[i];
    }
  }

  run_encoder(w.layers, tc.encoder, /*causal=*/true, offsets, x.data());

  // final_layer_norm is per token: apply it to the pooled tokens only.
  tensor::Buffer pooled(prompts.size() * h);  // [prompts, hidden]
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    kernels::layer_norm(x.data() + static_cast<std::size_t>(offsets[s + 1] - 1) * h, 1, hidden,
                        w.final_layer_norm.gamma.data(), w.final_layer_norm.beta.data(),
                        tc.encoder.layer_norm_eps, pooled.data() + s * h);
  }
  kernels::linear(pooled.data(), static_cast<int>(prompts.size()), w.projection, out);
}

}  // namespace zeroshot::model
