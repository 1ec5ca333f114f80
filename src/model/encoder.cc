#include "model/encoder.h"

#include <cstddef>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "tensor/buffer.h"

namespace zeroshot::model {

void run_encoder(const std::vector<EncoderLayerWeights>& layers,
                 const config::EncoderConfig& config, bool causal, std::span<const int> offsets,
                 float* x) {
  const int rows = offsets.back();
  const int hidden = config.hidden_size;
  const auto r = static_cast<std::size_t>(rows);
  const auto h = static_cast<std::size_t>(hidden);
  // Per-call scratch, allocated once for all layers.
  tensor::Buffer normed(r * h);                                                // [rows, hidden]
  tensor::Buffer qkv(r * 3 * h);                                               // [rows, 3*hidden]
  tensor::Buffer attended(r * h);                                              // [rows, hidden]
  tensor::Buffer mlp(r * static_cast<std::size_t>(config.intermediate_size));  // [rows, inter]

  for (const EncoderLayerWeights& layer : layers) {
    kernels::layer_norm(x, rows, hidden, layer.layer_norm1.gamma.data(),
                        layer.layer_norm1.beta.data(), config.layer_norm_eps, normed.data());
    kernels::linear(normed.data(), rows, layer.q_proj, qkv.data());
    kernels::linear(normed.data(), rows, layer.k_proj, qkv.data() + h);
    kernels::linear(normed.data(), rows, layer.v_proj, qkv.data() + 2 * h);
    kernels::attention_packed(qkv.data(), offsets, hidden, config.num_heads, causal,
                              attended.data());
    kernels::linear(attended.data(), rows, layer.out_proj, x);  // x += out_proj(attended)

    kernels::layer_norm(x, rows, hidden, layer.layer_norm2.gamma.data(),
                        layer.layer_norm2.beta.data(), config.layer_norm_eps, normed.data());
    kernels::linear(normed.data(), rows, layer.fc1, mlp.data());  // act(fc1(normed))
    kernels::linear(mlp.data(), rows, layer.fc2, x);              // x += fc2(mlp)
  }
}

}  // namespace zeroshot::model
