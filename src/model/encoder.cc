#include "model/encoder.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "kernels/gemm.h"
#include "tensor/buffer.h"
#include "zeroshot/error.h"

namespace zeroshot::model {
namespace {

// normed = layer_norm1(x); qkv = [q | k | v](normed).
void attention_inputs(const EncoderLayerWeights& layer, const config::EncoderConfig& config,
                      const float* x, int rows, float* normed, float* qkv) {
  const std::size_t h = static_cast<std::size_t>(config.hidden_size);
  kernels::layer_norm(x, rows, config.hidden_size, layer.layer_norm1.gamma.data(),
                      layer.layer_norm1.beta.data(), config.layer_norm_eps, normed);
  if (!layer.qkv.empty()) {
    kernels::linear(normed, rows, layer.qkv, qkv);
    return;
  }
  kernels::linear(normed, rows, layer.q_proj, qkv);
  kernels::linear(normed, rows, layer.k_proj, qkv + h);
  kernels::linear(normed, rows, layer.v_proj, qkv + 2 * h);
}

// x += out_proj(attended); x += fc2(act(fc1(layer_norm2(x)))), over `rows` rows.
void attention_output_and_mlp(const EncoderLayerWeights& layer, const config::EncoderConfig& config,
                              const float* attended, int rows, float* x, float* normed,
                              float* mlp) {
  kernels::linear(attended, rows, layer.out_proj, x);  // x += out_proj(attended)
  kernels::layer_norm(x, rows, config.hidden_size, layer.layer_norm2.gamma.data(),
                      layer.layer_norm2.beta.data(), config.layer_norm_eps, normed);
  kernels::linear(normed, rows, layer.fc1, mlp);  // act(fc1(normed))
  kernels::linear(mlp, rows, layer.fc2, x);       // x += fc2(mlp)
}

// out[s] = x at the output row of sequence s (kAll: out = x).
void gather_output_rows(const EncoderPass& pass, const float* x, std::size_t h, float* out) {
  if (pass.output == kernels::QueryRows::kAll) {
    std::copy_n(x, static_cast<std::size_t>(pass.offsets.back()) * h, out);
    return;
  }
  for (std::size_t s = 0; s + 1 < pass.offsets.size(); ++s) {
    const int row =
        pass.output == kernels::QueryRows::kFirst ? pass.offsets[s] : pass.offsets[s + 1] - 1;
    std::copy_n(x + static_cast<std::size_t>(row) * h, h, out + s * h);
  }
}

}  // namespace

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

void run_encoder(const std::vector<EncoderLayerWeights>& layers,
                 const config::EncoderConfig& config, const EncoderPass& pass, float* x,
                 float* out) {
  const std::span<const int> offsets = pass.offsets;
  const int rows = offsets.back();
  const int sequences = static_cast<int>(offsets.size()) - 1;
  const int hidden = config.hidden_size;
  const auto r = static_cast<std::size_t>(rows);
  const auto h = static_cast<std::size_t>(hidden);
  // Per-call scratch, allocated once for all layers.
  tensor::Buffer normed(r * h);                                                // [rows, hidden]
  tensor::Buffer qkv(r * 3 * h);                                               // [rows, 3*hidden]
  tensor::Buffer attended(r * h);                                              // [rows, hidden]
  tensor::Buffer mlp(r * static_cast<std::size_t>(config.intermediate_size));  // [rows, inter]

  for (std::size_t l = 0; l < layers.size(); ++l) {
    const EncoderLayerWeights& layer = layers[l];
    attention_inputs(layer, config, x, rows, normed.data(), qkv.data());
    if (pass.save_qkv) std::copy_n(qkv.data(), r * 3 * h, pass.save_qkv + l * r * 3 * h);
    kernels::AttentionOptions options;
    if (pass.prefix_qkv) {
      options.prefix_qkv = pass.prefix_qkv + l * static_cast<std::size_t>(pass.prefix_rows) * 3 * h;
      options.prefix_rows = pass.prefix_rows;
    }
    if (l + 1 < layers.size() || pass.output == kernels::QueryRows::kAll) {
      kernels::attention_packed(qkv.data(), offsets, hidden, config.num_heads, pass.causal,
                                attended.data(), options);
      attention_output_and_mlp(layer, config, attended.data(), rows, x, normed.data(), mlp.data());
      continue;
    }
    // Last layer: only the output rows. out starts as their residual stream.
    options.queries = pass.output;
    kernels::attention_packed(qkv.data(), offsets, hidden, config.num_heads, pass.causal,
                              attended.data(), options);  // [sequences, hidden]
    gather_output_rows(pass, x, h, out);
    attention_output_and_mlp(layer, config, attended.data(), sequences, out, normed.data(),
                             mlp.data());
  }
  if (layers.empty() || pass.output == kernels::QueryRows::kAll)
    gather_output_rows(pass, x, h, out);
}

}  // namespace zeroshot::model
