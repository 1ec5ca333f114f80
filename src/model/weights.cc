// The shared encoder layers' tensors (HF CLIPEncoderLayer names) -> EncoderLayerWeights.
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

}  // namespace zeroshot::model
