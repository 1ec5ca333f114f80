#include "model/encoder.h"

#include <cstddef>

#include "kernels/gemm.h"
#include "tensor/buffer.h"

namespace zeroshot::model {

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

void run_encoder(const std::vector<EncoderLayerWeights>& layers,
                 const config::EncoderConfig& config, bool causal, std::span<const int> offsets,
                 float* x) {
  const int rows = offsets.back();
  const int hidden = config.hidden_size;
  const auto r = static_cast<std::size_t>(rows);
  const auto h = static_cast<std::size_t>(hidden);
  const kernels::Activation act = to_kernel_activation(config.activation);
  // Per-call scratch, allocated once for all layers.
  tensor::Buffer normed(r * h);                                                // [rows, hidden]
  tensor::Buffer qkv(r * 3 * h);                                               // [rows, 3*hidden]
  tensor::Buffer attended(r * h);                                              // [rows, hidden]
  tensor::Buffer delta(r * h);                                                 // [rows, hidden]
  tensor::Buffer mlp(r * static_cast<std::size_t>(config.intermediate_size));  // [rows, inter]

  for (const EncoderLayerWeights& layer : layers) {
    kernels::layer_norm(x, rows, hidden, layer.layer_norm1.gamma.data(),
                        layer.layer_norm1.beta.data(), config.layer_norm_eps, normed.data());
    kernels::linear(normed.data(), rows, layer.qkv, qkv.data());
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      const int begin = offsets[s];
      const kernels::AttentionShape shape{offsets[s + 1] - begin, hidden, config.num_heads};
      kernels::attention(qkv.data() + static_cast<std::size_t>(begin) * 3 * h, shape, causal,
                         attended.data() + static_cast<std::size_t>(begin) * h);
    }
    kernels::linear(attended.data(), rows, layer.out_proj, delta.data());
    for (std::size_t i = 0; i < r * h; ++i) x[i] += delta[i];

    kernels::layer_norm(x, rows, hidden, layer.layer_norm2.gamma.data(),
                        layer.layer_norm2.beta.data(), config.layer_norm_eps, normed.data());
    kernels::linear(normed.data(), rows, layer.fc1, mlp.data());
    kernels::activate(act, mlp.data(), mlp.size());
    kernels::linear(mlp.data(), rows, layer.fc2, delta.data());
    for (std::size_t i = 0; i < r * h; ++i) x[i] += delta[i];
  }
}

}  // namespace zeroshot::model
