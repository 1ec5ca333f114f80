#include "family/siglip/siglip_model.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "kernels/ops.h"
#include "model/encoder.h"
#include "model/weight_loader.h"
#include "tensor/buffer.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {

// HF's SiglipModel state dict, in the forms the passes use.
struct SiglipWeights {
  struct Text {
    tensor::Floats token_embedding;     // [vocab, hidden]
    tensor::Floats position_embedding;  // [max_positions, hidden]
    std::vector<model::EncoderLayerWeights> layers;
    model::LayerNormWeights final_layer_norm;
    kernels::LinearWeights head;  // [projection, hidden] + [projection]
  } text;
  struct Vision {
    kernels::LinearWeights patch_embedding;  // [hidden, 3*patch*patch] + [hidden] (the conv)
    tensor::Floats position_embedding;       // [patches, hidden]
    std::vector<model::EncoderLayerWeights> layers;
    model::LayerNormWeights post_layernorm;
    // SiglipMultiheadAttentionPoolingHead: probe [hidden]; nn.MultiheadAttention's in_proj split
    // into the probe's q rows and the patches' k, v rows; out_proj; layernorm; mlp.
    tensor::Floats probe;
    kernels::LinearWeights probe_q;   // [hidden, hidden] + [hidden]
    kernels::LinearWeights patch_kv;  // [2*hidden, hidden] + [2*hidden]
    kernels::LinearWeights out_proj;  // [hidden, hidden] + [hidden]
    model::LayerNormWeights layernorm;
    kernels::LinearWeights fc1;  // activated
    kernels::LinearWeights fc2;  // accumulates (residual)
  } vision;
  float logit_scale = 0;
  float logit_bias = 0;
};

namespace {

using Shape = model::Shape;

SiglipWeights load_weights(const SiglipConfig& c, const tensor::NamedViews& views,
                           const std::string& source, kernels::GemmPrecision vision_precision,
                           std::shared_ptr<const void> mapping) {
  const std::int64_t th = c.text.encoder.hidden_size;
  const std::int64_t vh = c.vision.encoder.hidden_size;
  const std::int64_t inter = c.vision.encoder.intermediate_size;
  const std::int64_t grid = c.vision.image_size / c.vision.patch_size;
  model::Loader loader(views, source, std::move(mapping));
  loader.expect("text_model.embeddings.token_embedding.weight", {c.text.vocab_size, th});
  loader.expect("text_model.embeddings.position_embedding.weight",
                {c.text.max_position_embeddings, th});
  model::expect_layers(loader, "text_model", c.text.encoder);
  loader.expect("text_model.final_layer_norm.weight", {th});
  loader.expect("text_model.final_layer_norm.bias", {th});
  loader.expect("text_model.head.weight", {c.text_projection_size, th});
  loader.expect("text_model.head.bias", {c.text_projection_size});
  loader.expect("vision_model.embeddings.patch_embedding.weight",
                {vh, c.vision.num_channels, c.vision.patch_size, c.vision.patch_size});
  loader.expect("vision_model.embeddings.patch_embedding.bias", {vh});
  loader.expect("vision_model.embeddings.position_embedding.weight", {grid * grid, vh});
  model::expect_layers(loader, "vision_model", c.vision.encoder);
  loader.expect("vision_model.post_layernorm.weight", {vh});
  loader.expect("vision_model.post_layernorm.bias", {vh});
  loader.expect("vision_model.head.probe", {1, 1, vh});
  loader.expect("vision_model.head.attention.in_proj_weight", {3 * vh, vh});
  loader.expect("vision_model.head.attention.in_proj_bias", {3 * vh});
  loader.expect("vision_model.head.attention.out_proj.weight", {vh, vh});
  loader.expect("vision_model.head.attention.out_proj.bias", {vh});
  loader.expect("vision_model.head.layernorm.weight", {vh});
  loader.expect("vision_model.head.layernorm.bias", {vh});
  loader.expect("vision_model.head.mlp.fc1.weight", {inter, vh});
  loader.expect("vision_model.head.mlp.fc1.bias", {inter});
  loader.expect("vision_model.head.mlp.fc2.weight", {vh, inter});
  loader.expect("vision_model.head.mlp.fc2.bias", {vh});
  loader.expect("logit_scale", {1}, {{}});
  loader.expect("logit_bias", {1}, {{}});

  SiglipWeights w;
  const int t = static_cast<int>(th);
  const int v = static_cast<int>(vh);
  loader.prepare_tower("text");
  w.text.token_embedding = loader.floats("text_model.embeddings.token_embedding.weight");
  w.text.position_embedding = loader.floats("text_model.embeddings.position_embedding.weight");
  w.text.layers =
      model::load_layers(loader, "text_model", c.text.encoder, kernels::GemmPrecision::kF32);
  w.text.final_layer_norm = loader.layer_norm("text_model.final_layer_norm");
  w.text.head = loader.linear("text_model.head", c.text_projection_size, t, /*bias=*/true);

  loader.prepare_tower("vision", vision_precision);
  const int patch_in = c.vision.num_channels * c.vision.patch_size * c.vision.patch_size;
  w.vision.patch_embedding =
      loader.linear("vision_model.embeddings.patch_embedding", v, patch_in, /*bias=*/true);
  w.vision.position_embedding = loader.floats("vision_model.embeddings.position_embedding.weight");
  w.vision.layers = model::load_layers(loader, "vision_model", c.vision.encoder, vision_precision);
  w.vision.post_layernorm = loader.layer_norm("vision_model.post_layernorm");
  w.vision.probe = loader.floats("vision_model.head.probe");
  const tensor::Floats in_w = loader.floats("vision_model.head.attention.in_proj_weight");
  const tensor::Floats in_b = loader.floats("vision_model.head.attention.in_proj_bias");
  const auto hh = static_cast<std::size_t>(v) * static_cast<std::size_t>(v);
  const auto h = static_cast<std::size_t>(v);
  w.vision.probe_q =
      kernels::LinearWeights(in_w.span().subspan(0, hh), v, v, in_b.span().subspan(0, h), {},
                             kernels::GemmPrecision::kF32, in_w.owner());
  w.vision.patch_kv = kernels::LinearWeights(in_w.span().subspan(hh, 2 * hh), 2 * v, v,
                                             in_b.span().subspan(h, 2 * h), {},
                                             kernels::GemmPrecision::kF32, in_w.owner());
  w.vision.out_proj = loader.linear("vision_model.head.attention.out_proj", v, v, /*bias=*/true);
  w.vision.layernorm = loader.layer_norm("vision_model.head.layernorm");
  w.vision.fc1 =
      loader.linear("vision_model.head.mlp.fc1", static_cast<int>(inter), v, /*bias=*/true,
                    {.activation = model::to_kernel_activation(c.vision.encoder.activation),
                     .accumulate = false});
  w.vision.fc2 = loader.linear("vision_model.head.mlp.fc2", v, static_cast<int>(inter),
                               /*bias=*/true, {.activation = std::nullopt, .accumulate = true});
  loader.prepare_tower("");
  w.logit_scale = loader.floats("logit_scale")[0];
  w.logit_bias = loader.floats("logit_bias")[0];
  return w;
}

}  // namespace

SiglipModel::SiglipModel(const SiglipConfig& config, const tensor::NamedViews& weights,
                         const std::string& source, kernels::GemmPrecision vision_precision,
                         std::shared_ptr<const void> mapping)
    : config_(config) {
  model::check_encoder(config_.text.encoder, source, "text");
  model::check_encoder(config_.vision.encoder, source, "vision");
  weights_ = std::make_unique<const SiglipWeights>(
      load_weights(config_, weights, source, vision_precision, std::move(mapping)));
}

SiglipModel::~SiglipModel() = default;
SiglipModel::SiglipModel(SiglipModel&&) noexcept = default;
SiglipModel& SiglipModel::operator=(SiglipModel&&) noexcept = default;

float SiglipModel::logit_scale() const { return weights_->logit_scale; }
float SiglipModel::logit_bias() const { return weights_->logit_bias; }

void SiglipModel::encode_images(const float* pixels, int batch, float* out) const {
  if (batch <= 0) return;
  const config::VisionConfig& vc = config_.vision;
  const SiglipWeights::Vision& w = weights_->vision;
  const int hidden = vc.encoder.hidden_size;
  const int heads = vc.encoder.num_heads;
  const int head_dim = hidden / heads;
  const int grid = vc.image_size / vc.patch_size;
  const int patches = grid * grid;
  const int patch_in = vc.num_channels * vc.patch_size * vc.patch_size;
  const auto h = static_cast<std::size_t>(hidden);
  const std::size_t rows = static_cast<std::size_t>(batch) * patches;
  const std::size_t image_floats =
      static_cast<std::size_t>(vc.num_channels) * vc.image_size * vc.image_size;

  // SiglipVisionEmbeddings: conv(stride = kernel = patch, with bias) + position_embedding.
  tensor::Buffer columns(rows * patch_in);  // [b*patches, c*p*p]
  for (int b = 0; b < batch; ++b) {
    kernels::im2col_patches(pixels + b * image_floats, vc.num_channels, vc.image_size,
                            vc.patch_size,
                            columns.data() + static_cast<std::size_t>(b) * patches * patch_in);
  }
  tensor::Buffer x(rows * h);  // [b*patches, hidden]
  kernels::linear(columns.data(), static_cast<int>(rows), w.patch_embedding, x.data());
  std::vector<int> offsets(static_cast<std::size_t>(batch) + 1);
  for (int b = 0; b <= batch; ++b) offsets[static_cast<std::size_t>(b)] = b * patches;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* p = w.position_embedding.data() + (r % static_cast<std::size_t>(patches)) * h;
    for (std::size_t i = 0; i < h; ++i) x[r * h + i] += p[i];
  }

  // Encoder (every row comes out: the head attends to all), then post_layernorm.
  tensor::Buffer hidden_states(rows * h);  // [b*patches, hidden]
  model::run_encoder(w.layers, vc.encoder,
                     {.offsets = offsets, .causal = false, .output = kernels::QueryRows::kAll},
                     x.data(), hidden_states.data());
  kernels::layer_norm(hidden_states.data(), static_cast<int>(rows), hidden,
                      w.post_layernorm.gamma.data(), w.post_layernorm.beta.data(),
                      vc.encoder.layer_norm_eps, hidden_states.data());

  // The pooling head's attention: one query (the probe, the same for every image) over the
  // patches. As torch's multi_head_attention_forward: q scaled by head_dim^-0.5, softmax, @ v.
  tensor::Buffer q(h);  // [hidden]
  kernels::linear(w.probe.data(), 1, w.probe_q, q.data());
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (std::size_t i = 0; i < h; ++i) q[i] *= scale;
  tensor::Buffer kv(rows * 2 * h);  // [b*patches, 2*hidden]: k | v
  kernels::linear(hidden_states.data(), static_cast<int>(rows), w.patch_kv, kv.data());
  tensor::Buffer attended(static_cast<std::size_t>(batch) * h);  // [b, hidden]
  std::vector<float> weights(static_cast<std::size_t>(patches));
  for (int b = 0; b < batch; ++b) {
    for (int head = 0; head < heads; ++head) {
      const std::size_t col = static_cast<std::size_t>(head) * head_dim;
      for (int t = 0; t < patches; ++t) {
        const float* k = kv.data() + (static_cast<std::size_t>(b) * patches + t) * 2 * h + col;
        float s = 0;
        for (int d = 0; d < head_dim; ++d) s += q[col + d] * k[d];
        weights[static_cast<std::size_t>(t)] = s;
      }
      kernels::softmax_rows(weights.data(), 1, patches);
      float* o = attended.data() + static_cast<std::size_t>(b) * h + col;
      std::fill_n(o, head_dim, 0.0f);
      for (int t = 0; t < patches; ++t) {
        const float* v = kv.data() + (static_cast<std::size_t>(b) * patches + t) * 2 * h + h + col;
        const float p = weights[static_cast<std::size_t>(t)];
        for (int d = 0; d < head_dim; ++d) o[d] += p * v[d];
      }
    }
  }
  // out = attn_out; out += mlp(layernorm(out)).
  kernels::linear(attended.data(), batch, w.out_proj, out);
  tensor::Buffer normed(static_cast<std::size_t>(batch) * h);
  kernels::layer_norm(out, batch, hidden, w.layernorm.gamma.data(), w.layernorm.beta.data(),
                      vc.encoder.layer_norm_eps, normed.data());
  tensor::Buffer mlp(static_cast<std::size_t>(batch) * vc.encoder.intermediate_size);
  kernels::linear(normed.data(), batch, w.fc1, mlp.data());
  kernels::linear(mlp.data(), batch, w.fc2, out);
}

void SiglipModel::encode_texts(std::span<const std::vector<int>> prompts, float* out) const {
  if (prompts.empty()) return;
  const config::TextConfig& tc = config_.text;
  const SiglipWeights::Text& w = weights_->text;
  const int length = tc.max_position_embeddings;
  const auto h = static_cast<std::size_t>(tc.encoder.hidden_size);
  const std::size_t rows = prompts.size() * static_cast<std::size_t>(length);
  tensor::Buffer x(rows * h);  // [prompts*length, hidden]
  std::vector<int> offsets(prompts.size() + 1);
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<int>& ids = prompts[s];
    if (static_cast<int>(ids.size()) != length) {
      throw Error(ErrorCode::kInvalidArgument, "SigLIP text of " + std::to_string(ids.size()) +
                                                   " tokens: the text tower takes " +
                                                   std::to_string(length) + " (padded)");
    }
    offsets[s] = static_cast<int>(s) * length;
    for (int t = 0; t < length; ++t) {
      const int id = ids[static_cast<std::size_t>(t)];
      if (id < 0 || id >= tc.vocab_size) {
        throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) +
                                                     " is outside the vocabulary of " +
                                                     std::to_string(tc.vocab_size));
      }
      const float* e = w.token_embedding.data() + static_cast<std::size_t>(id) * h;
      const float* p = w.position_embedding.data() + static_cast<std::size_t>(t) * h;
      float* xt = x.data() + (s * static_cast<std::size_t>(length) + t) * h;
      for (std::size_t i = 0; i < h; ++i) xt[i] = e[i] + p[i];
    }
  }
  offsets.back() = static_cast<int>(rows);
  // No mask: every position sees the whole padded text; the last one is pooled.
  tensor::Buffer pooled(prompts.size() * h);  // [prompts, hidden]
  model::run_encoder(w.layers, tc.encoder,
                     {.offsets = offsets, .causal = false, .output = kernels::QueryRows::kLast},
                     x.data(), pooled.data());
  kernels::layer_norm(pooled.data(), static_cast<int>(prompts.size()), tc.encoder.hidden_size,
                      w.final_layer_norm.gamma.data(), w.final_layer_norm.beta.data(),
                      tc.encoder.layer_norm_eps, pooled.data());
  kernels::linear(pooled.data(), static_cast<int>(prompts.size()), w.head, out);
}

}  // namespace zeroshot::family::siglip
