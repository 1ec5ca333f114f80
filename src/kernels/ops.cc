#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace zeroshot::kernels {

void layer_norm(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                float* y) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * dim;
    float* yr = y + static_cast<std::size_t>(r) * dim;
    // Two passes with double accumulation: closer to the exact value than any float order, so
    // the difference from PyTorch stays at the level of PyTorch's own rounding.
    double sum = 0.0;
    for (int i = 0; i < dim; ++i) sum += xr[i];
    const double mean = sum / dim;
    double sq = 0.0;
    for (int i = 0; i < dim; ++i) {
      const double d = xr[i] - mean;
      sq += d * d;
    }
    const double var = sq / dim;  // biased, as torch.nn.LayerNorm
    const float inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    const float m = static_cast<float>(mean);
    for (int i = 0; i < dim; ++i) yr[i] = (xr[i] - m) * inv * gamma[i] + beta[i];
  }
}

void softmax_rows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<std::size_t>(r) * cols;
    float mx = xr[0];
    for (int i = 1; i < cols; ++i) mx = std::max(mx, xr[i]);
    float sum = 0.0f;
    for (int i = 0; i < cols; ++i) {
      xr[i] = std::exp(xr[i] - mx);
      sum += xr[i];
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < cols; ++i) xr[i] *= inv;
  }
}

void activate(Activation activation, float* x, std::size_t n) {
  switch (activation) {
    case Activation::kQuickGelu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
      break;
    case Activation::kGelu:
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
      }
      break;
    case Activation::kGeluTanh: {
      constexpr float kSqrt2OverPi = 0.79788456080286536f;
      for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
      }
      break;
    }
  }
}

void attention(const float* qkv, const AttentionShape& shape, bool causal, float* out) {
  const int t = shape.tokens;
  const int hidden = shape.hidden;
  const int head_dim = hidden / shape.heads;
  const std::size_t stride = 3 * static_cast<std::size_t>(hidden);  // row stride of qkv
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> q(static_cast<std::size_t>(head_dim));  // [head_dim] scaled query
  std::vector<float> p(static_cast<std::size_t>(t));         // [tokens] scores of one query
  for (int h = 0; h < shape.heads; ++h) {
    const float* qh = qkv + static_cast<std::size_t>(h) * head_dim;
    const float* kh = qh + hidden;
    const float* vh = kh + hidden;
    for (int i = 0; i < t; ++i) {
      // HF: query_states = q_proj(x) * scale, then q @ k^T; masked scores get -inf-like values
      // and vanish in the softmax, so a causal row just stops at i.
      const float* qi = qh + i * stride;
      for (int d = 0; d < head_dim; ++d) q[d] = qi[d] * scale;
      const int keys = causal ? i + 1 : t;
      float mx = -INFINITY;
      for (int j = 0; j < keys; ++j) {
        const float* kj = kh + j * stride;
        float s = 0.0f;
        for (int d = 0; d < head_dim; ++d) s += q[d] * kj[d];
        p[j] = s;
        mx = std::max(mx, s);
      }
      float sum = 0.0f;
      for (int j = 0; j < keys; ++j) {
        p[j] = std::exp(p[j] - mx);
        sum += p[j];
      }
      const float inv = 1.0f / sum;
      float* oi =
          out + static_cast<std::size_t>(i) * hidden + static_cast<std::size_t>(h) * head_dim;
      for (int d = 0; d < head_dim; ++d) oi[d] = 0.0f;
      for (int j = 0; j < keys; ++j) {
        const float w = p[j] * inv;
        const float* vj = vh + j * stride;
        for (int d = 0; d < head_dim; ++d) oi[d] += w * vj[d];
      }
    }
  }
}

void im2col_patches(const float* image, int channels, int size, int patch, float* patches) {
  const int grid = size / patch;
  const std::size_t row_len = static_cast<std::size_t>(channels) * patch * patch;
  for (int gy = 0; gy < grid; ++gy) {
    for (int gx = 0; gx < grid; ++gx) {
      float* row = patches + (static_cast<std::size_t>(gy) * grid + gx) * row_len;
      for (int c = 0; c < channels; ++c) {
        const float* plane = image + static_cast<std::size_t>(c) * size * size;
        for (int ky = 0; ky < patch; ++ky) {
          const float* src = plane + static_cast<std::size_t>(gy * patch + ky) * size + gx * patch;
          std::copy(src, src + patch, row);
          row += patch;
        }
      }
    }
  }
}

}  // namespace zeroshot::kernels
