// The one matrix-product call site of the library: y = x W^T + b through oneDNN's matmul
// (which picks the best ISA at run time). Weights take the layout oneDNN's fastest kernel wants
// on the running CPU: used in place where that is a plain layout (its gemm kernels, e.g. on AVX2:
// no copy at load), packed once into its blocked layout otherwise (brgemm on AVX-512; on first
// use when the caller keeps the weights alive, so that load stays free); calls never copy or
// convert them after that.
//
// Thread safety: a LinearWeights is immutable after construction (the lazy packing runs once,
// under std::call_once); `linear` may be called on the same weights from many threads at once
// (every call uses its own stream and scratchpad).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

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

// Storage that keeps the packed (blocked) weights of several LinearWeights, e.g. a file that
// outlives the process (weights_cache/), so that a later process maps them instead of packing.
// Each LinearWeights that would pack on first use registers a slot at construction (the packed
// size and layout are known then); its first call either uses the slot's stored bytes or packs
// in memory and hands the result to keep(). Implementations are thread-safe: first calls may run
// concurrently.
class PackedStore {
 public:
  virtual ~PackedStore() = default;
  // Registers weights that pack into `bytes` bytes of the layout `layout` (a description of
  // oneDNN's memory descriptor: equal strings, equal layouts); returns their slot. Called while
  // the model loads, before any slot is read.
  virtual std::size_t add(std::size_t bytes, const std::string& layout) = 0;
  // The slot's stored bytes, verified, or nullptr when the store does not hold them.
  virtual const void* stored(std::size_t slot) = 0;
  // The slot's weights, just packed (the slot's size in bytes): kept for later processes, or not.
  // `packed` keeps them alive for as long as the store holds it (a store may write them later).
  virtual void keep(std::size_t slot, std::shared_ptr<const void> packed) = 0;
};

// What packed layouts depend on besides the weights: oneDNN's version and the ISA it runs on.
// A key part for stores that outlive the process.
std::string packing_signature();

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
  // used in place when oneDNN's chosen kernel takes a plain layout (no copy), or packed into its
  // blocked layout by the first `linear` call, which then calls on_packed (e.g. to drop the
  // source's file pages); with a `store`, that call takes the packed weights from it, or hands
  // it what it packed. Without an owner they are copied (packed) here. Throws
  // zeroshot::Error(kInvalidArgument) on sizes that disagree, kInternal if oneDNN fails.
  LinearWeights(std::span<const float> weight, int out_features, int in_features,
                std::span<const float> bias, const LinearEpilogue& epilogue = {},
                GemmPrecision precision = GemmPrecision::kF32,
                std::shared_ptr<const void> weight_owner = nullptr,
                std::function<void()> on_packed = nullptr,
                std::shared_ptr<PackedStore> store = nullptr);

  // Several torch.nn.Linear with the same input stacked by output rows into one GEMM (q, k and v
  // of an attention layer): row_blocks[i] is [out_i, in_features] row-major, bias the
  // concatenated biases ([sum of out_i]) or empty; out_features = sum of out_i. With an owner the
  // blocks are read when packed (see above); where oneDNN takes a plain layout they are copied
  // into one matrix here (ask packs_weights first when that copy matters).
  LinearWeights(std::span<const std::span<const float>> row_blocks, int in_features,
                std::span<const float> bias, const LinearEpilogue& epilogue = {},
                GemmPrecision precision = GemmPrecision::kF32,
                std::shared_ptr<const void> weight_owner = nullptr,
                std::function<void()> on_packed = nullptr,
                std::shared_ptr<PackedStore> store = nullptr);

  int in_features() const noexcept { return in_features_; }
  int out_features() const noexcept { return out_features_; }
  bool empty() const noexcept { return impl_ == nullptr; }
  GemmPrecision precision() const noexcept { return precision_; }
  // True when the weights read the owner's memory (see the constructor): used in place, or to be
  // packed on first use; false when copied at construction (packed, no owner, or int8).
  bool borrowed() const noexcept;
  // True when every call makes (or finds in oneDNN's primitive cache) the primitive for its row
  // count: oneDNN's fastest kernel here takes blocked weights and no run-time row count.
  bool per_row_count() const noexcept;

  struct Impl;  // oneDNN objects; defined in gemm.cc only

 private:
  friend void linear(const float* x, int rows, const LinearWeights& weights, float* y);
  std::shared_ptr<const Impl> impl_;
  int in_features_ = 0;
  int out_features_ = 0;
  GemmPrecision precision_ = GemmPrecision::kF32;
};

// True when LinearWeights of this shape copy the weights into a layout of their own on this CPU
// (oneDNN's fastest kernel takes blocked weights, or int8): stacking several into one GEMM then
// costs no extra copy.
bool packs_weights(int out_features, int in_features, GemmPrecision precision);

// As torch.nn.functional.linear: y[rows, out] = x[rows, in] @ W^T + b, then the weights'
// epilogue (activation, accumulation into y). x is contiguous row-major, y row-major with the
// epilogue's y_stride; they must not overlap. rows may be any positive number. With plain weights
// one primitive with a run-time row count serves every call (on AVX2 a primitive per row count
// was within the noise of it: oneDNN 2.6, 1 thread, M = 1..400, K,N up to 768x2304); with
// blocked weights each row count has its own primitive, from oneDNN's primitive cache (a few
// microseconds) after its first call (a few hundred: the kernel is generated).
void linear(const float* x, int rows, const LinearWeights& weights, float* y);

}  // namespace zeroshot::kernels
