// The one matrix-product call site of the library: y = x W^T + b through oneDNN's matmul
// (which picks the best ISA at run time). Weights are prepared once, when a LinearWeights is
// built: used in place where the implementation oneDNN picks takes a plain layout (its gemm
// kernels, e.g. on AVX2: no copy at load), packed into its blocked layout otherwise (brgemm on
// AVX-512); calls never copy or convert them.
//
// Thread safety: a LinearWeights is immutable after construction; `linear` may be called on the
// same weights from many threads at once (every call uses its own stream and scratchpad).
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "kernels/activation.h"

namespace zeroshot::kernels {

// What happens to x W^T + b before it is stored, fused into the GEMM (oneDNN post-ops): no extra
// pass over memory, vectorised and threaded with the product.
struct LinearEpilogue {
  std::optional<Activation> activation;  // y = act(x W^T + b)
  bool accumulate = false;  // y += result: a residual connection (after the activation, if any)
  // Row stride of y in floats; 0 = out_features. Lets q, k and v write side by side into one
  // [rows, 3*hidden] buffer.
  int y_stride = 0;
};

// How a LinearWeights multiplies.
enum class GemmPrecision {
  kF32,
  // Weights quantised symmetrically per output channel to int8 at construction; activations
  // quantised per call (per tensor, asymmetric, to uint8: 7 bits on CPUs without VNNI, where
  // u8 x s8 pairs could saturate 16-bit intermediates); oneDNN's u8 x s8 -> s32 GEMM, rescaled to
  // float before the bias and the epilogue.
  kInt8,
};

// The weights of one torch.nn.Linear (out_features x in_features, row-major, as HF stores them)
// plus an optional bias, in the layout oneDNN's matmul prefers.
class LinearWeights {
 public:
  LinearWeights() = default;
  // weight: [out_features, in_features] row-major; bias: [out_features] or empty (no bias).
  // weight_owner, if set, keeps `weight` valid for as long as it lives: float32 weights are then
  // used in place when oneDNN's chosen kernel takes a plain layout (no copy); without an owner
  // they are always copied (packed). Throws zeroshot::Error(kInvalidArgument) on sizes that
  // disagree, kInternal if oneDNN fails.
  LinearWeights(std::span<const float> weight, int out_features, int in_features,
                std::span<const float> bias, const LinearEpilogue& epilogue = {},
                GemmPrecision precision = GemmPrecision::kF32,
                std::shared_ptr<const void> weight_owner = nullptr);

  int in_features() const noexcept { return in_features_; }
  int out_features() const noexcept { return out_features_; }
  bool empty() const noexcept { return impl_ == nullptr; }
  GemmPrecision precision() const noexcept { return precision_; }
  // True when the weights are used in place (see the constructor), false when packed or int8.
  bool borrowed() const noexcept;

  struct Impl;  // oneDNN objects; defined in gemm.cc only

 private:
  friend void linear(const float* x, int rows, const LinearWeights& weights, float* y);
  std::shared_ptr<const Impl> impl_;
  int in_features_ = 0;
  int out_features_ = 0;
  GemmPrecision precision_ = GemmPrecision::kF32;
};

// As torch.nn.functional.linear: y[rows, out] = x[rows, in] @ W^T + b, then the weights'
// epilogue (activation, accumulation into y). x is contiguous row-major, y row-major with the
// epilogue's y_stride; they must not overlap. rows may be any positive number: one primitive,
// created at load with a run-time row count, serves every call. (Measured with oneDNN 2.6 on AVX2,
// 1 thread, M = 1..400, K,N up to 768x2304: a primitive per row count, with plain or packed
// weights, was within the noise of the run-time-M primitive, and a cache lookup would cost locks;
// so one primitive it is.)
void linear(const float* x, int rows, const LinearWeights& weights, float* y);

}  // namespace zeroshot::kernels
