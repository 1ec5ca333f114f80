// Hugging Face CLIPModel tensor names (transformers' modeling_clip.py state dict) -> ClipWeights.
#include "model/weights.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>

#include "model/weight_loader.h"
#include "tensor/convert.h"
#include "zeroshot/error.h"

namespace zeroshot::model {

void expect_layers(Loader& loader, const std::string& prefix, const config::EncoderConfig& c) {
  const std::int64_t h = c.hidden_size;
  const std::int64_t inter = c.intermediate_size;
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = prefix + ".encoder.layers." + std::to_string(i);
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      loader.expect(p + ".self_attn." + proj + ".weight", {h, h});
      loader.expect(p + ".self_attn." + proj + ".bias", {h});
    }
    for (const char* ln : {"layer_norm1", "layer_norm2"}) {
      loader.expect(p + "." + ln + ".weight", {h});
      loader.expect(p + "." + ln + ".bias", {h});
    }
    loader.expect(p + ".mlp.fc1.weight", {inter, h});
    loader.expect(p + ".mlp.fc1.bias", {inter});
    loader.expect(p + ".mlp.fc2.weight", {h, inter});
    loader.expect(p + ".mlp.fc2.bias", {h});
  }
}

std::vector<EncoderLayerWeights> load_layers(const Loader& loader, const std::string& prefix,
                                             const config::EncoderConfig& c,
                                             kernels::GemmPrecision precision) {
  const int h = c.hidden_size;
  std::vector<EncoderLayerWeights> layers;
  layers.reserve(static_cast<std::size_t>(c.num_layers));
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = prefix + ".encoder.layers." + std::to_string(i);
    EncoderLayerWeights layer;
    layer.layer_norm1 = loader.layer_norm(p + ".layer_norm1");
    if (kernels::packs_weights(3 * h, h, precision)) {
      // One GEMM for q, k and v where the weights are copied into a layout of their own anyway:
      // rows [0,h) = q_proj, [h,2h) = k_proj, [2h,3h) = v_proj.
      layer.qkv =
          loader.stacked_linear(p + ".self_attn", {"q_proj", "k_proj", "v_proj"}, h, precision);
    } else {
      // Used in place (no copy at load), each writing its third of the [rows, 3*hidden] output.
      const kernels::LinearEpilogue side_by_side{
          .activation = std::nullopt, .accumulate = false, .y_stride = 3 * h};
      layer.q_proj = loader.linear(p + ".self_attn.q_proj", h, h, true, side_by_side);
      layer.k_proj = loader.linear(p + ".self_attn.k_proj", h, h, true, side_by_side);
      layer.v_proj = loader.linear(p + ".self_attn.v_proj", h, h, true, side_by_side);
    }
    // HF: hidden = residual + out_proj(...), residual + fc2(act(fc1(...))): the residual adds and
    // the activation are fused into the GEMMs.
    const kernels::LinearEpilogue residual{.activation = std::nullopt, .accumulate = true};
    const kernels::LinearEpilogue activated{.activation = to_kernel_activation(c.activation),
                                            .accumulate = false};
    layer.out_proj =
        loader.linear(p + ".self_attn.out_proj", h, h, /*bias=*/true, residual, precision);
    layer.layer_norm2 = loader.layer_norm(p + ".layer_norm2");
    layer.fc1 =
        loader.linear(p + ".mlp.fc1", c.intermediate_size, h, /*bias=*/true, activated, precision);
    layer.fc2 =
        loader.linear(p + ".mlp.fc2", h, c.intermediate_size, /*bias=*/true, residual, precision);
    layers.push_back(std::move(layer));
  }
  return layers;
}

kernels::Activation to_kernel_activation(config::Activation activation) {
  switch (activation) {
    case config::Activation::kQuickGelu:
      return kernels::Activation::kQuickGelu;
    case config::Activation::kGelu:
      return kernels::Activation::kGelu;
    case config::Activation::kGeluTanh:
      return kernels::Activation::kGeluTanh;
  }
  return kernels::Activation::kQuickGelu;
}

ClipWeights load_weights(const config::ClipConfig& config, const tensor::NamedViews& views,
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
  Loader loader(views, source, std::move(mapping));
  loader.expect("text_model.embeddings.token_embedding.weight", {tc.vocab_size, th});
  loader.expect("text_model.embeddings.position_embedding.weight",
                {tc.max_position_embeddings, th});
  expect_layers(loader, "text_model", tc.encoder);
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
  expect_layers(loader, "vision_model", vc.encoder);
  loader.expect("vision_model.post_layernorm.weight", {vh});
  loader.expect("vision_model.post_layernorm.bias", {vh});
  loader.expect("visual_projection.weight", {proj, vh});
  loader.expect("logit_scale", {}, {{1}});

  ClipWeights w;
  // int8 covers the vision tower only: text embeddings are computed once per label and cached,
  // so quantising the text tower would cost accuracy for almost no time.
  w.text.token_embedding = loader.floats("text_model.embeddings.token_embedding.weight");
  w.text.position_embedding = loader.floats("text_model.embeddings.position_embedding.weight");
  w.text.layers = load_layers(loader, "text_model", tc.encoder, kernels::GemmPrecision::kF32);
  w.text.final_layer_norm = loader.layer_norm("text_model.final_layer_norm");
  w.text.projection =
      loader.linear("text_projection", config.projection_dim, tc.encoder.hidden_size, false);

  const int patch_in = vc.num_channels * vc.patch_size * vc.patch_size;
  // The conv weight [hidden, channels, patch, patch] is a [hidden, channels*patch*patch] matrix
  // over im2col rows ordered (channel, ky, kx).
  w.vision.patch_embedding = loader.linear("vision_model.embeddings.patch_embedding",
                                           vc.encoder.hidden_size, patch_in, false);
  w.vision.class_embedding = loader.floats("vision_model.embeddings.class_embedding");
  w.vision.position_embedding = loader.floats("vision_model.embeddings.position_embedding.weight");
  w.vision.pre_layernorm = loader.layer_norm("vision_model.pre_layrnorm");
  w.vision.layers = load_layers(loader, "vision_model", vc.encoder, vision_precision);
  w.vision.post_layernorm = loader.layer_norm("vision_model.post_layernorm");
  w.vision.projection =
      loader.linear("visual_projection", config.projection_dim, vc.encoder.hidden_size, false);

  w.logit_scale = loader.floats("logit_scale")[0];
  return w;
}

}  // namespace zeroshot::model
