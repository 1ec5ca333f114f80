// Element-wise and row-wise kernels of the CLIP transformer, written to match PyTorch's float32
// results (HF transformers' modeling_clip.py). Portable C++ (the compiler vectorises the inner
// loops); the matrix products go through gemm.h. All functions are pure: no state, thread-safe.
#pragma once

#include <cstddef>

namespace zeroshot::kernels {

// As torch.nn.LayerNorm over the last dimension: per row, (x - mean) / sqrt(var + eps) * gamma +
// beta with the biased variance. x: [rows, dim]; y: [rows, dim] (may equal x).
void layer_norm(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                float* y);

// Numerically stable softmax of each row, in place. x: [rows, cols].
void softmax_rows(float* x, int rows, int cols);

enum class Activation {
  kQuickGelu,  // x * sigmoid(1.702 x)       (HF "quick_gelu", OpenAI CLIP)
  kGelu,       // 0.5 x (1 + erf(x / sqrt 2)) (HF "gelu", exact)
  kGeluTanh,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (HF "gelu_new" etc.)
};

// Applies `activation` to n floats in place.
void activate(Activation activation, float* x, std::size_t n);

struct AttentionShape {
  int tokens = 0;  // sequence length of this sequence
  int hidden = 0;  // heads * head_dim
  int heads = 0;
};

// Multi-head scaled dot-product attention for one sequence, as HF's CLIPAttention: q is scaled by
// head_dim^-0.5, scores = q k^T (+ a causal mask: position i sees positions <= i), softmax, @ v,
// heads concatenated.
//   qkv: [tokens, 3 * hidden] with q, k, v side by side (head h at columns h*head_dim of each);
//   out: [tokens, hidden].
void attention(const float* qkv, const AttentionShape& shape, bool causal, float* out);

// im2col for a convolution with stride = kernel = patch and no padding (CLIP's patch embedding):
// image [channels, size, size] -> patches [(size/patch)^2, channels*patch*patch], patches in
// row-major grid order and each row ordered (channel, ky, kx) like a conv weight
// [out, channels, patch, patch] flattened. Pixels beyond the last whole patch are ignored, as
// the convolution does.
void im2col_patches(const float* image, int channels, int size, int patch, float* patches);

}  // namespace zeroshot::kernels
