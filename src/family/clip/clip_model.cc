#include "family/clip/clip_model.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "model/encoder.h"
#include "model/weight_loader.h"
#include "model/weights.h"
#include "tensor/buffer.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {

using model::EncoderLayerWeights;
using model::LayerNormWeights;

// HF's CLIPModel state dict (transformers' modeling_clip.py), in the forms the passes use.
struct TextWeights {
  tensor::Floats token_embedding;     // [vocab, hidden]
  tensor::Floats position_embedding;  // [max_positions, hidden]
  std::vector<EncoderLayerWeights> layers;
  LayerNormWeights final_layer_norm;
  kernels::LinearWeights projection;  // [projection_dim, hidden], no bias
};

struct VisionWeights {
  kernels::LinearWeights patch_embedding;  // [hidden, channels*patch*patch], no bias (the conv)
  tensor::Floats class_embedding;          // [hidden]
  tensor::Floats position_embedding;       // [patches + 1, hidden]
  LayerNormWeights pre_layernorm;
  std::vector<EncoderLayerWeights> layers;
  LayerNormWeights post_layernorm;
  kernels::LinearWeights projection;  // [projection_dim, hidden], no bias
};

struct ClipWeights {
  TextWeights text;
  VisionWeights vision;
  float logit_scale = 0.0f;  // log of the logit multiplier, as stored
};

namespace {

// Checks every tensor the config implies (presence, dtype F32/F16/BF16, shape) before converting
// any; see ClipModel's constructor.
ClipWeights load_weights(const ClipConfig& config, const tensor::NamedViews& views,
                         const std::string& source, kernels::GemmPrecision vision_precision,
                         std::shared_ptr<const void> mapping) {
  const config::TextConfig& tc = config.text;
  const config::VisionConfig& vc = config.vision;
  const std::int64_t th = tc.encoder.hidden_size;
  const std::int64_t vh = vc.encoder.hidden_size;
  const std::int64_t proj = config.projection_dim;
  const std::int64_t grid = vc.image_size / vc.patch_size;
  const std::int64_t positions = grid * grid + 1;

  // Everything is checked before anything is converted, so a bad file fails fast.
  model::Loader loader(views, source, std::move(mapping));
  loader.expect("text_model.embeddings.token_embedding.weight", {tc.vocab_size, th});
  loader.expect("text_model.embeddings.position_embedding.weight",
                {tc.max_position_embeddings, th});
  model::expect_layers(loader, "text_model", tc.encoder);
  loader.expect("text_model.final_layer_norm.weight", {th});
  loader.expect("text_model.final_layer_norm.bias", {th});
  loader.expect("text_projection.weight", {proj, th});
  loader.expect("vision_model.embeddings.class_embedding", {vh});
  loader.expect("vision_model.embeddings.patch_embedding.weight",
                {vh, vc.num_channels, vc.patch_size, vc.patch_size});
  loader.expect("vision_model.embeddings.position_embedding.weight", {positions, vh});
  // "pre_layrnorm" is HF's spelling.
  loader.expect("vision_model.pre_layrnorm.weight", {vh});
  loader.expect("vision_model.pre_layrnorm.bias", {vh});
  model::expect_layers(loader, "vision_model", vc.encoder);
  loader.expect("vision_model.post_layernorm.weight", {vh});
  loader.expect("vision_model.post_layernorm.bias", {vh});
  loader.expect("visual_projection.weight", {proj, vh});
  loader.expect("logit_scale", {}, {{1}});

  ClipWeights w;
  // int8 covers the vision tower only: text embeddings are computed once per label and cached,
  // so quantising the text tower would cost accuracy for almost no time.
  loader.prepare_tower("text");
  w.text.token_embedding = loader.floats("text_model.embeddings.token_embedding.weight");
  w.text.position_embedding = loader.floats("text_model.embeddings.position_embedding.weight");
  w.text.layers =
      model::load_layers(loader, "text_model", tc.encoder, kernels::GemmPrecision::kF32);
  w.text.final_layer_norm = loader.layer_norm("text_model.final_layer_norm");
  w.text.projection =
      loader.linear("text_projection", config.projection_dim, tc.encoder.hidden_size, false);

  loader.prepare_tower("vision", vision_precision);
  const int patch_in = vc.num_channels * vc.patch_size * vc.patch_size;
  // The conv weight [hidden, channels, patch, patch] is a [hidden, channels*patch*patch] matrix
  // over im2col rows ordered (channel, ky, kx).
  w.vision.patch_embedding = loader.linear("vision_model.embeddings.patch_embedding",
                                           vc.encoder.hidden_size, patch_in, false);
  w.vision.class_embedding = loader.floats("vision_model.embeddings.class_embedding");
  w.vision.position_embedding = loader.floats("vision_model.embeddings.position_embedding.weight");
  w.vision.pre_layernorm = loader.layer_norm("vision_model.pre_layrnorm");
  w.vision.layers = model::load_layers(loader, "vision_model", vc.encoder, vision_precision);
  w.vision.post_layernorm = loader.layer_norm("vision_model.post_layernorm");
  w.vision.projection =
      loader.linear("visual_projection", config.projection_dim, vc.encoder.hidden_size, false);

  loader.prepare_tower("");
  w.logit_scale = loader.floats("logit_scale")[0];
  return w;
}

void check_config(const ClipConfig& c, const std::string& source) {
  model::check_encoder(c.text.encoder, source, "text");
  model::check_encoder(c.vision.encoder, source, "vision");
  if (c.projection_dim <= 0 || c.text.vocab_size <= 0 || c.text.max_position_embeddings <= 0 ||
      c.vision.num_channels <= 0 || c.vision.patch_size <= 0 ||
      c.vision.image_size < c.vision.patch_size) {
    throw Error(ErrorCode::kModelInvalid,
                source +
                    ": config needs positive projection_dim, vocab_size, "
                    "max_position_embeddings, num_channels and patch_size <= image_size");
  }
}

// HF CLIPTextEmbeddings for tokens [first, last) of `ids`: token_embedding(id) +
// position_embedding(position) -> x: [last - first, hidden].
void embed_tokens(const TextWeights& w, std::size_t hidden, const std::vector<int>& ids, int first,
                  int last, float* x) {
  for (int t = first; t < last; ++t) {
    const float* e = w.token_embedding.data() + static_cast<std::size_t>(ids[t]) * hidden;
    const float* p = w.position_embedding.data() + static_cast<std::size_t>(t) * hidden;
    float* xt = x + static_cast<std::size_t>(t - first) * hidden;
    for (std::size_t i = 0; i < hidden; ++i) xt[i] = e[i] + p[i];
  }
}

// Prompts made from one template share their first tokens ("<|startoftext|> a photo of"): with
// the causal mask those rows are the same in every prompt, so they can run once and the prompts
// attend to their saved keys and values. Returns how many leading tokens all prompts share (each
// keeps at least its pooled row of its own), or 0 when that saves fewer rows than are worth a
// pass of their own.
int shared_prefix_length(std::span<const std::vector<int>> prompts, std::span<const int> lengths) {
  constexpr long kMinSavedRows = 64;
  int prefix = *std::min_element(lengths.begin(), lengths.end()) - 1;
  for (std::size_t s = 1; s < prompts.size() && prefix > 0; ++s) {
    prefix = static_cast<int>(
        std::mismatch(prompts[0].begin(), prompts[0].begin() + prefix, prompts[s].begin()).first -
        prompts[0].begin());
  }
  return static_cast<long>(prefix) * (static_cast<long>(prompts.size()) - 1) < kMinSavedRows
             ? 0
             : prefix;
}

}  // namespace

ClipModel::ClipModel(const ClipConfig& config, const tensor::NamedViews& weights,
                     const std::string& source, kernels::GemmPrecision vision_precision,
                     std::shared_ptr<const void> mapping)
    : config_(config) {
  check_config(config_, source);
  weights_ = std::make_unique<const ClipWeights>(
      load_weights(config_, weights, source, vision_precision, std::move(mapping)));
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
  // HF CLIPVisionTransformer: pooled = post_layernorm(last_hidden_state[:, 0, :]).
  tensor::Buffer pooled(static_cast<std::size_t>(batch) * h);  // [b, hidden]
  model::run_encoder(w.layers, vc.encoder,
                     {.offsets = offsets, .causal = false, .output = kernels::QueryRows::kFirst},
                     x.data(), pooled.data());
  kernels::layer_norm(pooled.data(), batch, hidden, w.post_layernorm.gamma.data(),
                      w.post_layernorm.beta.data(), vc.encoder.layer_norm_eps, pooled.data());
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
  std::vector<int> lengths(prompts.size());
  for (std::size_t s = 0; s < prompts.size(); ++s) {
    const std::vector<int>& ids = prompts[s];
    if (static_cast<int>(ids.size()) > tc.max_position_embeddings) {
      throw Error(ErrorCode::kInvalidArgument,
                  "text of " + std::to_string(ids.size()) + " tokens is longer than " +
                      std::to_string(tc.max_position_embeddings) + " positions");
    }
    lengths[s] = pooled_position(ids) + 1;
    for (int t = 0; t < lengths[s]; ++t) {
      const int id = ids[static_cast<std::size_t>(t)];
      if (id < 0 || id >= tc.vocab_size) {
        throw Error(ErrorCode::kInvalidArgument, "token id " + std::to_string(id) +
                                                     " is outside the vocabulary of " +
                                                     std::to_string(tc.vocab_size));
      }
    }
  }

  const int prefix = shared_prefix_length(prompts, lengths);
  tensor::Buffer prefix_qkv;  // [layers, prefix, 3*hidden]
  if (prefix > 0) {
    // The prefix as a sequence of its own (prompt 0's first tokens), saving every layer's q/k/v.
    prefix_qkv = tensor::Buffer(w.layers.size() * static_cast<std::size_t>(prefix) * 3 * h);
    tensor::Buffer x(static_cast<std::size_t>(prefix) * h);  // [prefix, hidden]
    embed_tokens(w, h, prompts[0], 0, prefix, x.data());
    const int prefix_offsets[2] = {0, prefix};
    tensor::Buffer unused(h);  // [1, hidden]: the prefix's own output row is never read
    model::run_encoder(w.layers, tc.encoder,
                       {.offsets = prefix_offsets, .causal = true, .save_qkv = prefix_qkv.data()},
                       x.data(), unused.data());
  }

  // The tokens after the prefix, packed row after row.
  std::vector<int> offsets(prompts.size() + 1, 0);
  for (std::size_t s = 0; s < prompts.size(); ++s)
    offsets[s + 1] = offsets[s] + lengths[s] - prefix;
  tensor::Buffer x(static_cast<std::size_t>(offsets.back()) * h);  // [rows, hidden]
  for (std::size_t s = 0; s < prompts.size(); ++s)
    embed_tokens(w, h, prompts[s], prefix, lengths[s], x.data() + offsets[s] * h);

  // HF: pooled = final_layer_norm(last_hidden_state)[eos position]; the norm is per token, so
  // it runs on the pooled rows only.
  tensor::Buffer pooled(prompts.size() * h);  // [prompts, hidden]
  model::run_encoder(w.layers, tc.encoder,
                     {.offsets = offsets,
                      .causal = true,
                      .output = kernels::QueryRows::kLast,
                      .prefix_qkv = prefix > 0 ? prefix_qkv.data() : nullptr,
                      .prefix_rows = prefix},
                     x.data(), pooled.data());
  kernels::layer_norm(pooled.data(), static_cast<int>(prompts.size()), hidden,
                      w.final_layer_norm.gamma.data(), w.final_layer_norm.beta.data(),
                      tc.encoder.layer_norm_eps, pooled.data());
  kernels::linear(pooled.data(), static_cast<int>(prompts.size()), w.projection, out);
}

}  // namespace zeroshot::family::clip
