// The plain pieces of a CLIP-style transformer (scalar loops, double accumulation), written from
// Hugging Face's modeling_clip.py / modeling_siglip.py and sharing no code with src/model or
// src/kernels: weights read as doubles, layer norm, nn.Linear, the activations, the pre-LN encoder
// with or without a causal mask. naive_clip.h and naive_siglip.h build on it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "config/encoder_config.h"
#include "tensor/view.h"

namespace zeroshot::testing {

class NaiveTransformer {
 public:
  using Matrix = std::vector<double>;  // row-major

  explicit NaiveTransformer(const tensor::NamedViews& w) : w_(w) {}

 protected:
  // text_model.embeddings: token_embedding(ids) + position_embedding(0..n-1) -> [n, h].
  Matrix text_embeddings(const std::vector<int>& ids, int h) const {
    const int n = static_cast<int>(ids.size());
    const auto tok = get("text_model.embeddings.token_embedding.weight");
    const auto pos = get("text_model.embeddings.position_embedding.weight");
    Matrix x(static_cast<std::size_t>(n) * h);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < h; ++k) x[i * h + k] = tok[ids[i] * h + k] + pos[i * h + k];
    return x;
  }

  // vision_model.embeddings.patch_embedding, the Conv2d(stride = kernel = patch) over pixels
  // [3, S, S] -> [grid * grid, h] in row-major grid order (+ its bias when it has one).
  Matrix patch_conv(const std::vector<float>& pixels, const config::VisionConfig& v,
                    bool bias) const {
    const int h = v.encoder.hidden_size, p = v.patch_size, grid = v.image_size / p;
    const int s = v.image_size;
    const auto conv = get("vision_model.embeddings.patch_embedding.weight");  // [h, 3, p, p]
    const auto b = bias ? get("vision_model.embeddings.patch_embedding.bias")
                        : std::vector<double>(static_cast<std::size_t>(h), 0.0);
    Matrix x(static_cast<std::size_t>(grid) * grid * h);
    for (int gy = 0; gy < grid; ++gy)
      for (int gx = 0; gx < grid; ++gx)
        for (int o = 0; o < h; ++o) {
          double acc = b[o];
          for (int ch = 0; ch < 3; ++ch)
            for (int ky = 0; ky < p; ++ky)
              for (int kx = 0; kx < p; ++kx)
                acc += conv[((o * 3 + ch) * p + ky) * p + kx] *
                       pixels[(ch * s + gy * p + ky) * s + gx * p + kx];
          x[(gy * grid + gx) * h + o] = acc;
        }
    return x;
  }

  std::vector<double> get(const std::string& name) const {
    const auto& view = w_.at(name);
    std::vector<double> out(view.numel());
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (view.dtype == tensor::DType::kF32) {
        float f;
        std::memcpy(&f, view.data + 4 * i, 4);
        out[i] = f;
      } else {
        std::uint16_t half;
        std::memcpy(&half, view.data + 2 * i, 2);
        out[i] = view.dtype == tensor::DType::kBF16 ? bf16(half) : f16(half);
      }
    }
    return out;
  }
  static double bf16(std::uint16_t b) {
    std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static double f16(std::uint16_t b) {
    const int e = (b >> 10) & 31, m = b & 1023;
    const double sign = (b & 0x8000) ? -1 : 1;
    if (e == 0) return sign * std::ldexp(m, -24);
    if (e == 31) return sign * INFINITY;
    return sign * std::ldexp(1024 + m, e - 25);
  }

  Matrix layer_norm(const Matrix& x, int n, int h, const std::string& prefix, double eps) const {
    const auto g = get(prefix + ".weight"), b = get(prefix + ".bias");
    Matrix y(x.size());
    for (int i = 0; i < n; ++i) {
      double mean = 0, var = 0;
      for (int k = 0; k < h; ++k) mean += x[i * h + k];
      mean /= h;
      for (int k = 0; k < h; ++k) var += (x[i * h + k] - mean) * (x[i * h + k] - mean);
      var /= h;
      for (int k = 0; k < h; ++k)
        y[i * h + k] = (x[i * h + k] - mean) / std::sqrt(var + eps) * g[k] + b[k];
    }
    return y;
  }

  // y = x W^T + b, W: [out, in] as nn.Linear.
  Matrix linear(const Matrix& x, int n, int in, const std::string& prefix, bool bias) const {
    const auto w = get(prefix + ".weight");
    const int out = static_cast<int>(w.size() / in);
    const auto b = bias ? get(prefix + ".bias") : std::vector<double>(out, 0.0);
    Matrix y(static_cast<std::size_t>(n) * out);
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < out; ++o) {
        double acc = b[o];
        for (int k = 0; k < in; ++k) acc += x[i * in + k] * w[o * in + k];
        y[i * out + o] = acc;
      }
    return y;
  }

  static double activation(double v, config::Activation a) {
    switch (a) {
      case config::Activation::kQuickGelu:
        return v / (1 + std::exp(-1.702 * v));
      case config::Activation::kGelu:
        return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      case config::Activation::kGeluTanh:
        return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    }
    return v;
  }

  Matrix encoder(Matrix x, int n, const std::string& tower, const config::EncoderConfig& e,
                 bool causal) const {
    const int h = e.hidden_size, heads = e.num_heads, d = h / heads;
    for (int l = 0; l < e.num_layers; ++l) {
      const std::string p = tower + ".encoder.layers." + std::to_string(l) + ".";
      auto y = layer_norm(x, n, h, p + "layer_norm1", e.layer_norm_eps);
      auto q = linear(y, n, h, p + "self_attn.q_proj", true);
      auto k = linear(y, n, h, p + "self_attn.k_proj", true);
      auto v = linear(y, n, h, p + "self_attn.v_proj", true);
      Matrix attn(static_cast<std::size_t>(n) * h, 0.0);
      for (int hd = 0; hd < heads; ++hd)
        for (int i = 0; i < n; ++i) {
          std::vector<double> s(n, -INFINITY);
          double mx = -INFINITY;
          for (int j = 0; j < (causal ? i + 1 : n); ++j) {
            double dot = 0;
            for (int t = 0; t < d; ++t) dot += q[i * h + hd * d + t] * k[j * h + hd * d + t];
            s[j] = dot / std::sqrt(static_cast<double>(d));
            mx = std::max(mx, s[j]);
          }
          double sum = 0;
          for (int j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - mx));
          for (int j = 0; j < n; ++j)
            for (int t = 0; t < d; ++t)
              attn[i * h + hd * d + t] += s[j] / sum * v[j * h + hd * d + t];
        }
      auto o = linear(attn, n, h, p + "self_attn.out_proj", true);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
      y = layer_norm(x, n, h, p + "layer_norm2", e.layer_norm_eps);
      auto f = linear(y, n, h, p + "mlp.fc1", true);
      for (auto& val : f) val = activation(val, e.activation);
      auto g = linear(f, n, e.intermediate_size, p + "mlp.fc2", true);
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += g[i];
    }
    return x;
  }

  static std::vector<double> normalize(std::vector<double> v) {
    double s = 0;
    for (double x : v) s += x * x;
    for (double& x : v) x /= std::sqrt(s);
    return v;
  }

  const tensor::NamedViews& w_;
};

}  // namespace zeroshot::testing
