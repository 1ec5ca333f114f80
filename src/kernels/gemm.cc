#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/cpu_dispatch.h"
#include "zeroshot/error.h"

namespace zeroshot::kernels {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
using DataType = memory::data_type;

struct LinearWeights::Impl {
  dnnl::engine engine;
  // The matmul's shape and attributes, to make primitives for any row count.
  memory::dim k = 0, n = 0;
  GemmPrecision precision = GemmPrecision::kF32;
  LinearEpilogue epilogue;
  bool has_bias = false;
  memory::dim y_stride = 0;  // row stride of y, in floats
  // Plain weights: `primitive` has a run-time row count and serves every call. Blocked weights:
  // oneDNN 2.6's brgemm kernels (its fast path on AVX-512) take no run-time dimension, so each
  // row count has its own primitive (the blocked layout is the same for every row count).
  bool per_rows = false;
  dnnl::matmul::primitive_desc pd;  // run-time rows (plain weights only)
  dnnl::matmul primitive;
  // Blocked weights: the primitives of the row counts seen so far (a batch's or a prompt's
  // tokens), so that a call skips making the primitive descriptor (a few microseconds in float32,
  // ~20 with int8's per-channel scales). Bounded: past kMaxCachedRowCounts, calls make their own,
  // whose kernels oneDNN's primitive cache still keeps (generating one takes ~0.3 ms).
  struct ForRows {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
  };
  static constexpr std::size_t kMaxCachedRowCounts = 32;
  mutable std::mutex by_rows_mutex;
  mutable std::unordered_map<int, ForRows> by_rows;
  memory::desc weights_md;  // [in, out] in the layout the primitives take
  // The weights in weights_md's layout. Blocked float32 weights that the caller keeps alive
  // (weight_owner) are packed on first use, not at construction: load touches no page, and a
  // tower that is never run is never packed.
  mutable memory weights;
  mutable std::once_flag packed;
  // Until packed: the weights' rows in HF's [out, in] row-major layout, in blocks stacked by
  // output rows (one block, or e.g. q, k and v).
  std::vector<std::span<const float>> sources;
  // Set while `sources` (or weights used in place) are the caller's memory: keeps it alive.
  std::shared_ptr<const void> weight_owner;
  std::function<void()> on_packed;  // called once `sources` have been packed
  // Where the packed weights are kept between processes (its slot), or null.
  std::shared_ptr<PackedStore> store;
  std::size_t store_slot = 0;
  memory bias;  // [1, out], or empty
  // int8 only: per output channel, float weight = int8 weight * weight_scales[n].
  std::vector<float> weight_scales;  // [out]
  int levels = 255;                  // activations quantise to [0, levels]
  // The per-call activation scale as a post-op (fixed weight scales, bias added after them),
  // where that keeps oneDNN on brgemm; else run-time output scales (see make_pd).
  bool scale_post_op = false;
};

namespace {

[[noreturn]] void rethrow_dnnl(const dnnl::error& e, const char* what) {
  throw Error(ErrorCode::kInternal, std::string("oneDNN ") + what + " failed: " + e.what() +
                                        " (status " + std::to_string(static_cast<int>(e.status)) +
                                        ")");
}

dnnl::algorithm eltwise_algorithm(Activation activation) {
  switch (activation) {
    case Activation::kQuickGelu:
      return dnnl::algorithm::eltwise_swish;  // x * sigmoid(alpha x), alpha = 1.702
    case Activation::kGelu:
      return dnnl::algorithm::eltwise_gelu_erf;
    case Activation::kGeluTanh:
      return dnnl::algorithm::eltwise_gelu_tanh;
  }
  return dnnl::algorithm::eltwise_swish;
}

// [rows, n] float32 with row stride `stride` (rows may be DNNL_RUNTIME_DIM_VAL).
memory::desc rows_desc(memory::dim rows, memory::dim n, memory::dim stride) {
  return memory::desc({rows, n}, DataType::f32, Dims{stride, 1});
}

// The layer's matmul for `rows` rows (DNNL_RUNTIME_DIM_VAL: any row count, given at execute).
// Weights tagged `any` let oneDNN choose its preferred layout for the fixed [K, N]; `ba` is HF's
// [out, in] row-major matrix as it lies in the file.
//   float32: src f32 [M, K] x wei f32 [K, N];
//   int8: src u8 x wei s8 -> f32 with a run-time activation zero point, scaled by activation
//   scale x weight scale per output channel. brgemm (AVX-512 VNNI) takes no run-time output
//   scales, so there the weight scales are fixed output scales and the activation scale (one
//   number per call) a binary-multiply post-op, with the bias a binary add after it
//   (scale_post_op). Elsewhere the scales are run-time output scales; oneDNN 2.x scales the bias
//   too (dst = oscale * (src x wei + bias)), so each call passes bias / oscale
//   (ZeroInputGivesTheBias tests it), because binary post-ops would send oneDNN's gemm kernels
//   with a sum to its reference implementation, ~10x slower.
dnnl::matmul::primitive_desc make_pd(const LinearWeights::Impl& impl, memory::dim rows,
                                     const memory::desc& wei) {
  const bool int8 = impl.precision == GemmPrecision::kInt8;
  const memory::desc src({rows, impl.k}, int8 ? DataType::u8 : DataType::f32, Tag::ab);
  const memory::desc dst = rows_desc(rows, impl.n, impl.y_stride);
  const memory::desc bia({1, impl.n}, DataType::f32, Tag::ab);
  dnnl::primitive_attr attr;
  // Scratch belongs to the call (passed at execute), so concurrent calls never share it.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  const bool bias_post_op = int8 && impl.scale_post_op && impl.has_bias;
  if (int8) {
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (impl.scale_post_op) {
      attr.set_output_scales(1 << 1, impl.weight_scales);
      ops.append_binary(dnnl::algorithm::binary_mul, memory::desc({1, 1}, DataType::f32, Tag::ab));
      if (bias_post_op) ops.append_binary(dnnl::algorithm::binary_add, bia);
    } else {
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    }
  }
  if (impl.epilogue.activation) {
    const Activation activation = *impl.epilogue.activation;
    const float alpha = activation == Activation::kQuickGelu ? 1.702f : 0.0f;
    ops.append_eltwise(1.0f, eltwise_algorithm(activation), alpha, 0.0f);
  }
  if (impl.epilogue.accumulate) ops.append_sum(1.0f);
  attr.set_post_ops(ops);
  if (impl.has_bias && !bias_post_op) {
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bia, dst), attr, impl.engine);
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, impl.engine);
}

memory::desc weights_desc(const LinearWeights::Impl& impl, Tag tag) {
  const bool int8 = impl.precision == GemmPrecision::kInt8;
  return memory::desc({impl.k, impl.n}, int8 ? DataType::s8 : DataType::f32, tag);
}

// The weight layout oneDNN's fastest kernel wants on this CPU, asked with a fixed row count: the
// run-time one keeps oneDNN 2.6 on its gemm kernels, which take plain layouts (on AVX2 as fast as
// any; on AVX-512 about half the speed of brgemm's blocked layout at the model's row counts,
// bench/README.md). 64 rows: a vision tower's tokens; the layout does not depend on the count.
memory::desc preferred_weights(const LinearWeights::Impl& impl) {
  constexpr memory::dim kProbeRows = 64;
  try {
    return make_pd(impl, kProbeRows, weights_desc(impl, Tag::any)).weights_desc();
  } catch (const dnnl::error&) {
    return weights_desc(impl, Tag::ba);  // no implementation chooses: the file's layout
  }
}

bool is_plain(const LinearWeights::Impl& impl, const memory::desc& md) {
  return md == weights_desc(impl, Tag::ab) || md == weights_desc(impl, Tag::ba);
}

bool has_vnni() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
         isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
}

// The memory descriptor's layout as text: data type, dims, strides and inner blocks. Equal texts,
// equal byte layouts (a PackedStore compares them before it hands stored bytes back).
std::string layout_text(const memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  std::string text = "dt" + std::to_string(static_cast<int>(d.data_type)) + " fk" +
                     std::to_string(static_cast<int>(d.format_kind)) + " dims";
  for (int i = 0; i < d.ndims; ++i) text += " " + std::to_string(d.dims[i]);
  text += " padded";
  for (int i = 0; i < d.ndims; ++i) text += " " + std::to_string(d.padded_dims[i]);
  if (d.format_kind == dnnl_blocked) {
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    text += " strides";
    for (int i = 0; i < d.ndims; ++i) text += " " + std::to_string(b.strides[i]);
    text += " blocks";
    for (int i = 0; i < b.inner_nblks; ++i)
      text += " " + std::to_string(b.inner_idxs[i]) + ":" + std::to_string(b.inner_blks[i]);
  }
  text += " extra" + std::to_string(d.extra.flags) + " bytes " + std::to_string(md.get_size());
  return text;
}

// Copies `user` into the primitive's weight layout (a transpose or a blocking).
memory pack(const dnnl::engine& engine, const memory::desc& layout, memory user) {
  memory packed(layout, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(user, packed).execute(stream, user, packed);
  stream.wait();
  return packed;
}

// `weight` if it holds [out, in], else the constructor's error.
const std::span<const float>& checked_size(const std::span<const float>& weight, int out, int in) {
  if (out <= 0 || in <= 0 || weight.size() != static_cast<std::size_t>(out) * in) {
    throw Error(ErrorCode::kInvalidArgument, "linear weights: " + std::to_string(weight.size()) +
                                                 " weights do not fit [" + std::to_string(out) +
                                                 "," + std::to_string(in) + "]");
  }
  return weight;
}

// The row blocks as one [out, in] row-major matrix: in place for one block, else a copy in
// `storage`.
std::span<const float> stacked_rows(std::span<const std::span<const float>> blocks,
                                    std::vector<float>& storage) {
  if (blocks.size() == 1) return blocks[0];
  for (const auto& block : blocks) storage.insert(storage.end(), block.begin(), block.end());
  return storage;
}

// Symmetric per output channel: w = q * scale, q in [-127, 127]. weight: [out, in] -> quantised
// [out, in], scales [out].
std::vector<std::int8_t> quantise_weights(std::span<const float> weight, int out, int in,
                                          std::vector<float>& scales) {
  std::vector<std::int8_t> quantised(weight.size());  // [out, in]
  scales.resize(static_cast<std::size_t>(out));
  for (int o = 0; o < out; ++o) {
    const float* w = weight.data() + static_cast<std::size_t>(o) * in;
    float max_abs = 0.0f;
    for (int i = 0; i < in; ++i) max_abs = std::max(max_abs, std::fabs(w[i]));
    const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    scales[static_cast<std::size_t>(o)] = scale;
    std::int8_t* q = quantised.data() + static_cast<std::size_t>(o) * in;
    for (int i = 0; i < in; ++i)
      q[i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(w[i] / scale), -127.0f, 127.0f));
  }
  return quantised;
}

}  // namespace

LinearWeights::LinearWeights(std::span<const float> weight, int out_features, int in_features,
                             std::span<const float> bias, const LinearEpilogue& epilogue,
                             GemmPrecision precision, std::shared_ptr<const void> weight_owner,
                             std::function<void()> on_packed, std::shared_ptr<PackedStore> store)
    : LinearWeights(std::span<const std::span<const float>>(
                        &checked_size(weight, out_features, in_features), 1),
                    in_features, bias, epilogue, precision, std::move(weight_owner),
                    std::move(on_packed), std::move(store)) {}

LinearWeights::LinearWeights(std::span<const std::span<const float>> row_blocks, int in_features,
                             std::span<const float> bias, const LinearEpilogue& epilogue,
                             GemmPrecision precision, std::shared_ptr<const void> weight_owner,
                             std::function<void()> on_packed, std::shared_ptr<PackedStore> store)
    : in_features_(in_features), precision_(precision) {
  std::size_t total = 0;
  for (const auto& block : row_blocks) total += block.size();
  const bool whole_rows = in_features > 0 && total % static_cast<std::size_t>(in_features) == 0;
  out_features_ = whole_rows ? static_cast<int>(total / static_cast<std::size_t>(in_features)) : 0;
  const int out_features = out_features_;
  bool blocks_ok = !row_blocks.empty() && whole_rows;
  for (const auto& block : row_blocks)
    blocks_ok = blocks_ok && block.size() % static_cast<std::size_t>(in_features) == 0;
  if (out_features <= 0 || in_features <= 0 || !blocks_ok ||
      (!bias.empty() && bias.size() != static_cast<std::size_t>(out_features)) ||
      (epilogue.y_stride != 0 && epilogue.y_stride < out_features)) {
    throw Error(ErrorCode::kInvalidArgument,
                "linear weights: " + std::to_string(total) + " weights and " +
                    std::to_string(bias.size()) + " biases do not fit [" +
                    std::to_string(out_features) + "," + std::to_string(in_features) +
                    "], or output stride " + std::to_string(epilogue.y_stride) +
                    " is below the output size");
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    impl->k = in_features;
    impl->n = out_features;
    impl->precision = precision;
    impl->epilogue = epilogue;
    impl->has_bias = !bias.empty();
    impl->y_stride = epilogue.y_stride != 0 ? epilogue.y_stride : out_features;
    std::vector<float> storage;
    std::vector<std::int8_t> quantised;  // int8: [out, in]
    if (precision == GemmPrecision::kInt8) {
      quantised = quantise_weights(stacked_rows(row_blocks, storage), out_features, in_features,
                                   impl->weight_scales);
      // The post-op form only where it reaches a blocked-weight kernel (brgemm): ask oneDNN which
      // weight layout it picks for a primitive in that form (make_pd reads scale_post_op), and
      // fall back to run-time output scales where that layout is plain (gemm kernels, which
      // binary post-ops would send to the reference implementation).
      impl->scale_post_op = true;
      const bool post_op_form_is_blocked = !is_plain(*impl, preferred_weights(*impl));
      impl->scale_post_op = post_op_form_is_blocked;
    }
    impl->weights_md = preferred_weights(*impl);
    impl->per_rows = !is_plain(*impl, impl->weights_md);
    if (precision == GemmPrecision::kInt8) {
      impl->levels = has_vnni() ? 255 : 127;
      impl->weights = pack(impl->engine, impl->weights_md,
                           memory(weights_desc(*impl, Tag::ba), impl->engine, quantised.data()));
    } else if (weight_owner && (impl->per_rows || row_blocks.size() == 1)) {
      impl->sources.assign(row_blocks.begin(), row_blocks.end());
      impl->weight_owner = std::move(weight_owner);
      if (impl->per_rows) {
        impl->on_packed = std::move(on_packed);  // packed on first use
        if (store) {
          impl->store_slot = store->add(impl->weights_md.get_size(), layout_text(impl->weights_md));
          impl->store = std::move(store);
        }
      } else {
        // Plain: HF's [out, in] row-major matrix is W^T as [in, out] in column-major order (tag
        // ba), which oneDNN's gemm kernels take as fast as their own plain layout: in place, no
        // copy at load.
        impl->weights_md = weights_desc(*impl, Tag::ba);
        impl->weights =
            memory(impl->weights_md, impl->engine, const_cast<float*>(row_blocks[0].data()));
      }
    } else {
      if (!impl->per_rows) impl->weights_md = weights_desc(*impl, Tag::ba);
      const std::span<const float> rows = stacked_rows(row_blocks, storage);
      impl->weights =
          pack(impl->engine, impl->weights_md,
               memory(weights_desc(*impl, Tag::ba), impl->engine, const_cast<float*>(rows.data())));
    }
    if (!impl->per_rows) {
      impl->pd = make_pd(*impl, DNNL_RUNTIME_DIM_VAL, impl->weights_md);
      impl->primitive = dnnl::matmul(impl->pd);
    }
    if (impl->has_bias) {
      impl->bias = memory({{1, impl->n}, DataType::f32, Tag::ab}, impl->engine);
      auto* b = static_cast<float*>(impl->bias.get_data_handle());
      for (int i = 0; i < out_features; ++i) b[i] = bias[static_cast<std::size_t>(i)];
    }
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul setup");
  }
  impl_ = std::move(impl);
}

bool LinearWeights::borrowed() const noexcept { return impl_ && impl_->weight_owner != nullptr; }

bool LinearWeights::per_row_count() const noexcept { return impl_ && impl_->per_rows; }

std::string packing_signature() {
  const dnnl_version_t* v = dnnl_version();
  std::string isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2:
      isa = "avx2";
      break;
    case dnnl::cpu_isa::avx2_vnni:
      isa = "avx2_vnni";
      break;
    case dnnl::cpu_isa::avx512_core:
      isa = "avx512_core";
      break;
    case dnnl::cpu_isa::avx512_core_vnni:
      isa = "avx512_core_vnni";
      break;
    case dnnl::cpu_isa::avx512_core_bf16:
      isa = "avx512_core_bf16";
      break;
    case dnnl::cpu_isa::avx512_core_amx:
      isa = "avx512_core_amx";
      break;
    default:
      isa = "isa" + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch) + " (" + v->hash + "), " + isa;
}

bool packs_weights(int out_features, int in_features, GemmPrecision precision) {
  if (precision == GemmPrecision::kInt8) return true;
  try {
    LinearWeights::Impl probe;
    probe.engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    probe.k = in_features;
    probe.n = out_features;
    probe.y_stride = out_features;
    return !is_plain(probe, preferred_weights(probe));
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul setup");
  }
}

namespace {

// The weights in the primitives' layout: packs them on the first call that needs them.
const memory& ready_weights(const LinearWeights::Impl& impl) {
  if (impl.per_rows && !impl.sources.empty()) {
    std::call_once(impl.packed, [&impl] {
      // A store that holds them: used in place (a mapped file), the source never read.
      if (impl.store) {
        if (const void* stored = impl.store->stored(impl.store_slot)) {
          impl.weights = memory(impl.weights_md, impl.engine, const_cast<void*>(stored));
          if (impl.on_packed) impl.on_packed();
          return;
        }
      }
      std::vector<float> storage;
      const std::span<const float> rows = stacked_rows(impl.sources, storage);
      impl.weights =
          pack(impl.engine, impl.weights_md,
               memory(weights_desc(impl, Tag::ba), impl.engine, const_cast<float*>(rows.data())));
      if (impl.store) {
        // A handle to the packed memory (oneDNN's memory objects share their buffer) that the
        // store may hold until it writes them.
        auto handle = std::make_shared<memory>(impl.weights);
        impl.store->keep(impl.store_slot,
                         std::shared_ptr<const void>(handle, handle->get_data_handle()));
      }
      if (impl.on_packed) impl.on_packed();
    });
  }
  return impl.weights;
}

// Runs the layer's matmul over `rows` rows on `args` (sources, destination, bias, attributes; the
// weights are added here) with a scratchpad of the call's own, so concurrent calls never share
// one, and waits for it.
void execute_matmul(const LinearWeights::Impl& impl, int rows,
                    std::unordered_map<int, memory> args) {
  args.emplace(DNNL_ARG_WEIGHTS, ready_weights(impl));
  dnnl::matmul::primitive_desc pd = impl.pd;
  dnnl::matmul primitive = impl.primitive;
  if (impl.per_rows) {
    std::unique_lock lock(impl.by_rows_mutex);
    const auto found = impl.by_rows.find(rows);
    if (found != impl.by_rows.end()) {
      pd = found->second.pd;
      primitive = found->second.primitive;
    } else {
      lock.unlock();
      pd = make_pd(impl, rows, impl.weights_md);
      primitive = dnnl::matmul(pd);  // from oneDNN's primitive cache after the first time
      lock.lock();
      if (impl.by_rows.size() < LinearWeights::Impl::kMaxCachedRowCounts)
        impl.by_rows.emplace(rows, LinearWeights::Impl::ForRows{pd, primitive});
    }
  }
  const memory::desc scratch_md = pd.scratchpad_desc();
  // Uninitialised: oneDNN writes before it reads, and zeroing it cost a pass per call.
  const std::unique_ptr<unsigned char[]> scratch_bytes(
      scratch_md.get_size() > 0 ? new unsigned char[scratch_md.get_size()] : nullptr);
  args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratch_md, impl.engine, scratch_bytes.get()));
  dnnl::stream stream(impl.engine);
  primitive.execute(stream, args);
  stream.wait();
}

// Dynamic quantisation of the activations, per tensor: x ~ (q - zero_point) * scale with q in
// [0, levels], the range [min(x, 0), max(x, 0)] mapped onto it (so 0 is exact). Vectorised and
// spread over the threads: at batch 1 it is a tenth of an int8 pass otherwise.
struct ActivationQuantisation {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
};

ZEROSHOT_TARGET_CLONES ActivationQuantisation quantise_activations(const float* x,
                                                                   std::size_t count, int levels,
                                                                   std::uint8_t* q) {
  const bool parallel = count >= (std::size_t{1} << 15);
  float lo = 0.0f, hi = 0.0f;
// `simd` lets GCC vectorise the min/max reduction; clang at -O1 (the sanitizer and fuzz builds)
// declines it with a warning that -Werror makes an error, so clang gets the plain loops.
#if defined(__clang__)
#pragma omp parallel for reduction(min : lo) reduction(max : hi) if (parallel)
#else
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) if (parallel)
#endif
  for (std::size_t i = 0; i < count; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float top = static_cast<float>(levels);
  ActivationQuantisation result;
  result.scale = hi > lo ? (hi - lo) / top : 1.0f;
  const float inv = 1.0f / result.scale;
  result.zero_point = static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo * inv), 0.0f, top));
  const float zp = static_cast<float>(result.zero_point);
  // Round to nearest even as nearbyint does (default rounding mode), but in vector registers:
  // adding and subtracting 1.5 * 2^23 leaves the integer part, exact for |v| < 2^22 (here |v| is
  // at most `levels`).
  constexpr float kRound = 12582912.0f;
#if defined(__clang__)
#pragma omp parallel for if (parallel)
#else
#pragma omp parallel for simd if (parallel)
#endif
  for (std::size_t i = 0; i < count; ++i) {
    const float rounded = (x[i] * inv + kRound) - kRound;
    q[i] = static_cast<std::uint8_t>(std::clamp(rounded + zp, 0.0f, top));
  }
  return result;
}

void linear_int8(const float* x, int rows, const LinearWeights& weights,
                 const LinearWeights::Impl& impl, float* y) {
  const std::size_t count = static_cast<std::size_t>(rows) * weights.in_features();
  std::vector<std::uint8_t> quantised(count);  // [rows, in]
  const ActivationQuantisation quantisation =
      quantise_activations(x, count, impl.levels, quantised.data());
  const float scale = quantisation.scale;
  std::int32_t zero = quantisation.zero_point;
  const memory::desc src_md({rows, weights.in_features()}, DataType::u8, Tag::ab);
  const memory::desc dst_md = rows_desc(rows, weights.out_features(), impl.y_stride);
  memory src(src_md, impl.engine, quantised.data());
  memory dst(dst_md, impl.engine, y);
  memory zero_mem({{1}, DataType::s32, Tag::a}, impl.engine, &zero);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zero_mem}};
  float activation_scale = scale;
  std::vector<float> scales;  // [out]
  std::vector<float> bias;    // [out]: in units of the accumulator
  if (impl.scale_post_op) {
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                 memory({{1, 1}, DataType::f32, Tag::ab}, impl.engine, &activation_scale));
    if (impl.has_bias) args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, impl.bias);
  } else {
    scales.resize(impl.weight_scales.size());
    for (std::size_t n = 0; n < scales.size(); ++n) scales[n] = scale * impl.weight_scales[n];
    args.emplace(
        DNNL_ARG_ATTR_OUTPUT_SCALES,
        memory({{weights.out_features()}, DataType::f32, Tag::a}, impl.engine, scales.data()));
    if (impl.has_bias) {
      const auto* b = static_cast<const float*>(impl.bias.get_data_handle());
      bias.resize(scales.size());
      for (std::size_t n = 0; n < bias.size(); ++n) bias[n] = b[n] / scales[n];
      args.emplace(DNNL_ARG_BIAS,
                   memory({{1, impl.n}, DataType::f32, Tag::ab}, impl.engine, bias.data()));
    }
  }
  execute_matmul(impl, rows, std::move(args));
}

}  // namespace

void linear(const float* x, int rows, const LinearWeights& weights, float* y) {
  if (weights.empty()) throw Error(ErrorCode::kInternal, "linear: empty weights");
  if (rows <= 0) return;
  const LinearWeights::Impl& impl = *weights.impl_;
  try {
    if (weights.precision() == GemmPrecision::kInt8) {
      linear_int8(x, rows, weights, impl, y);
      return;
    }
    const memory::desc src_md({rows, weights.in_features()}, DataType::f32, Tag::ab);
    const memory::desc dst_md = rows_desc(rows, weights.out_features(), impl.y_stride);
    memory src(src_md, impl.engine, const_cast<float*>(x));
    memory dst(dst_md, impl.engine, y);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    if (impl.has_bias) args.emplace(DNNL_ARG_BIAS, impl.bias);
    execute_matmul(impl, rows, std::move(args));
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul");
  }
}

}  // namespace zeroshot::kernels
