// Element-wise and row-wise kernels of the CLIP transformer, written to match PyTorch's float32
// results (HF transformers' modeling_clip.py). Portable C++ (loops are laid out so that the
// compiler vectorises them without reassociating sums); rows and heads are spread over OpenMP
// threads when the work is large enough. The weights' matrix products go through gemm.h; the
// attention of a vision tower's images through oneDNN's batched matmul (attention_packed). All
// functions are pure: no state, thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "kernels/activation.h"

namespace zeroshot::kernels {

// As torch.nn.LayerNorm over the last dimension: per row, (x - mean) / sqrt(var + eps) * gamma +
// beta with the biased variance. x: [rows, dim]; y: [rows, dim] (may equal x).
void layer_norm(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                float* y);

// Numerically stable softmax of each row, in place. x: [rows, cols].
void softmax_rows(float* x, int rows, int cols);

// Applies `activation` to n floats in place (the reference loops; the model fuses activations
// into the GEMM, see LinearEpilogue).
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

// Which query rows attention_packed computes.
enum class QueryRows {
  kAll,    // every row: out [rows, hidden]
  kFirst,  // the first row of each sequence (a class token): out [sequences, hidden]
  kLast,   // the last row of each sequence (an end token): out [sequences, hidden]
};

struct AttentionOptions {
  QueryRows queries = QueryRows::kAll;
  // Keys and values of a prefix that every sequence shares (prompts that start with the same
  // tokens): [prefix_rows, 3 * hidden] laid out as qkv (q columns unused). Each sequence attends
  // to them before its own rows, as if they were its first prefix_rows rows; its own rows are the
  // positions after them.
  const float* prefix_qkv = nullptr;
  int prefix_rows = 0;
};

// The same for several sequences packed row after row: sequence s occupies rows
// [offsets[s], offsets[s+1]) of qkv [rows, 3 * hidden]; out as options.queries says. (sequence,
// head) pairs run in parallel (OpenMP) when there is enough work. Sequences of one length (16
// tokens or more) with every query, no mask and no prefix (a vision tower's images) run as
// oneDNN's batched matmuls and softmax instead of the loops: 4-6x faster, the same to a rounding.
void attention_packed(const float* qkv, std::span<const int> offsets, int hidden, int heads,
                      bool causal, float* out, const AttentionOptions& options = {});

// im2col for a convolution with stride = kernel = patch and no padding (CLIP's patch embedding):
// image [channels, size, size] -> patches [(size/patch)^2, channels*patch*patch], patches in
// row-major grid order and each row ordered (channel, ky, kx) like a conv weight
// [out, channels, patch, patch] flattened. Pixels beyond the last whole patch are ignored, as
// the convolution does.
void im2col_patches(const float* image, int channels, int size, int patch, float* patches);

}  // namespace zeroshot::kernels
