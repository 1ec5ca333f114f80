#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "zeroshot/error.h"

namespace zeroshot::kernels {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
using DataType = memory::data_type;

struct LinearWeights::Impl {
  dnnl::engine engine;
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
  memory weights;  // [in, out] in pd.weights_desc()'s layout (possibly blocked)
  // Set when `weights` points into the caller's memory (used in place): keeps it alive.
  std::shared_ptr<const void> weight_owner;
  memory bias;  // [1, out], or empty
  bool has_bias = false;
  memory::dim y_stride = 0;  // row stride of y, in floats
  // int8 only: per output channel, float weight = int8 weight * weight_scales[n].
  std::vector<float> weight_scales;  // [out]
  int levels = 255;                  // activations quantise to [0, levels]
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

// Matmul with a run-time row count: one primitive (and one weight layout) for every batch and
// sequence length. Weights tagged `any` let oneDNN choose its preferred layout for the fixed
// [K, N]; `ba` is HF's [out, in] row-major matrix as it lies in the file.
//   float32: src f32 [M, K] x wei f32 [K, N];
//   int8: src u8 x wei s8 -> f32, with run-time per-channel output scales (activation scale x
//   weight scale) and a run-time activation zero point. oneDNN 2.x scales the bias too
//   (dst = oscale * (src x wei + bias)), so each call passes bias / oscale (ZeroInputGivesTheBias
//   tests it). A binary-add post-op would avoid that, but sends the residual layers (+ sum) to
//   oneDNN's reference implementation, ~10x slower.
dnnl::matmul::primitive_desc make_pd(const dnnl::engine& engine, memory::dim k, memory::dim n,
                                     GemmPrecision precision, Tag weights_tag, bool has_bias,
                                     const LinearEpilogue& epilogue, memory::dim y_stride) {
  const bool int8 = precision == GemmPrecision::kInt8;
  const memory::desc src({DNNL_RUNTIME_DIM_VAL, k}, int8 ? DataType::u8 : DataType::f32, Tag::ab);
  const memory::desc wei({k, n}, int8 ? DataType::s8 : DataType::f32, weights_tag);
  const memory::desc dst = rows_desc(DNNL_RUNTIME_DIM_VAL, n, y_stride);
  dnnl::primitive_attr attr;
  // Scratch belongs to the call (passed at execute), so concurrent calls never share it.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (int8) {
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  }
  dnnl::post_ops ops;
  if (epilogue.activation) {
    const float alpha = *epilogue.activation == Activation::kQuickGelu ? 1.702f : 0.0f;
    ops.append_eltwise(1.0f, eltwise_algorithm(*epilogue.activation), alpha, 0.0f);
  }
  if (epilogue.accumulate) ops.append_sum(1.0f);
  attr.set_post_ops(ops);
  if (has_bias) {
    const memory::desc bia({1, n}, DataType::f32, Tag::ab);
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bia, dst), attr, engine);
  }
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, engine);
}

bool has_vnni() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_vnni || isa == dnnl::cpu_isa::avx512_core_bf16 ||
         isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx2_vnni;
}

// Copies `user` into the primitive's weight layout (a transpose or a blocking).
memory pack(const dnnl::engine& engine, const dnnl::matmul::primitive_desc& pd, memory user) {
  memory packed(pd.weights_desc(), engine);
  dnnl::stream stream(engine);
  dnnl::reorder(user, packed).execute(stream, user, packed);
  stream.wait();
  return packed;
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
                             GemmPrecision precision, std::shared_ptr<const void> weight_owner)
    : in_features_(in_features), out_features_(out_features), precision_(precision) {
  if (out_features <= 0 || in_features <= 0 ||
      weight.size() != static_cast<std::size_t>(out_features) * in_features ||
      (!bias.empty() && bias.size() != static_cast<std::size_t>(out_features)) ||
      (epilogue.y_stride != 0 && epilogue.y_stride < out_features)) {
    throw Error(ErrorCode::kInvalidArgument,
                "linear weights: " + std::to_string(weight.size()) + " weights and " +
                    std::to_string(bias.size()) + " biases do not fit [" +
                    std::to_string(out_features) + "," + std::to_string(in_features) +
                    "], or output stride " + std::to_string(epilogue.y_stride) +
                    " is below the output size");
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    impl->has_bias = !bias.empty();
    impl->y_stride = epilogue.y_stride != 0 ? epilogue.y_stride : out_features;
    const memory::dim k = in_features;
    const memory::dim n = out_features;
    const auto make = [&](Tag tag) {
      return make_pd(impl->engine, k, n, precision, tag, impl->has_bias, epilogue, impl->y_stride);
    };
    if (precision == GemmPrecision::kInt8) {
      impl->pd = make(Tag::any);
      impl->levels = has_vnni() ? 255 : 127;
      std::vector<std::int8_t> quantised =
          quantise_weights(weight, out_features, in_features, impl->weight_scales);
      impl->weights = pack(impl->engine, impl->pd,
                           memory({{k, n}, DataType::s8, Tag::ba}, impl->engine, quantised.data()));
    } else {
      // HF's [out, in] row-major matrix is W^T as [in, out] in column-major order (tag ba).
      const memory::desc file_md({k, n}, DataType::f32, Tag::ba);
      try {
        impl->pd = make(Tag::any);
      } catch (const dnnl::error&) {
        impl->pd = make(Tag::ba);
      }
      // oneDNN's gemm kernels take either plain layout at the same speed (measured: bench/
      // README.md); only its blocked layouts (brgemm) need the copy.
      const memory::desc plain_md({k, n}, DataType::f32, Tag::ab);
      const memory::desc chosen = impl->pd.weights_desc();
      if (weight_owner && (chosen == file_md || chosen == plain_md)) {
        if (chosen != file_md) impl->pd = make(Tag::ba);
        impl->weights = memory(file_md, impl->engine, const_cast<float*>(weight.data()));
        impl->weight_owner = std::move(weight_owner);
      } else {
        impl->weights = pack(impl->engine, impl->pd,
                             memory(file_md, impl->engine, const_cast<float*>(weight.data())));
      }
    }
    impl->primitive = dnnl::matmul(impl->pd);
    if (impl->has_bias) {
      impl->bias = memory(impl->pd.bias_desc(), impl->engine);
      auto* b = static_cast<float*>(impl->bias.get_data_handle());
      for (int i = 0; i < out_features; ++i) b[i] = bias[static_cast<std::size_t>(i)];
    }
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul setup");
  }
  impl_ = std::move(impl);
}

bool LinearWeights::borrowed() const noexcept { return impl_ && impl_->weight_owner != nullptr; }

namespace {

// Runs the layer's matmul on `args` (sources, weights, destination, bias, attributes) with a
// scratchpad of the call's own, so concurrent calls never share one, and waits for it.
void execute_matmul(const LinearWeights::Impl& impl, std::unordered_map<int, memory> args) {
  const memory::desc scratch_md = impl.pd.scratchpad_desc();
  // Uninitialised: oneDNN writes before it reads, and zeroing it cost a pass per call.
  const std::unique_ptr<unsigned char[]> scratch_bytes(
      scratch_md.get_size() > 0 ? new unsigned char[scratch_md.get_size()] : nullptr);
  args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratch_md, impl.engine, scratch_bytes.get()));
  dnnl::stream stream(impl.engine);
  impl.primitive.execute(stream, args);
  stream.wait();
}

// Dynamic quantisation of the activations, per tensor: x ~ (q - zero_point) * scale with q in
// [0, levels], the range [min(x, 0), max(x, 0)] mapped onto it (so 0 is exact).
void linear_int8(const float* x, int rows, const LinearWeights& weights,
                 const LinearWeights::Impl& impl, float* y) {
  const std::size_t count = static_cast<std::size_t>(rows) * weights.in_features();
  float lo = 0.0f, hi = 0.0f;
  for (std::size_t i = 0; i < count; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float levels = static_cast<float>(impl.levels);
  const float scale = hi > lo ? (hi - lo) / levels : 1.0f;
  const float inv = 1.0f / scale;
  const auto zero_point =
      static_cast<std::int32_t>(std::clamp(std::nearbyint(-lo * inv), 0.0f, levels));
  const float zp = static_cast<float>(zero_point);
  std::vector<std::uint8_t> quantised(count);  // [rows, in]
  for (std::size_t i = 0; i < count; ++i)
    quantised[i] =
        static_cast<std::uint8_t>(std::clamp(std::nearbyint(x[i] * inv) + zp, 0.0f, levels));
  std::vector<float> scales(impl.weight_scales.size());  // [out]
  for (std::size_t n = 0; n < scales.size(); ++n) scales[n] = scale * impl.weight_scales[n];
  std::int32_t zero = zero_point;

  const memory::desc src_md({rows, weights.in_features()}, DataType::u8, Tag::ab);
  const memory::desc dst_md = rows_desc(rows, weights.out_features(), impl.y_stride);
  memory src(src_md, impl.engine, quantised.data());
  memory dst(dst_md, impl.engine, y);
  memory scales_mem({{weights.out_features()}, DataType::f32, Tag::a}, impl.engine, scales.data());
  memory zero_mem({{1}, DataType::s32, Tag::a}, impl.engine, &zero);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                       {DNNL_ARG_WEIGHTS, impl.weights},
                                       {DNNL_ARG_DST, dst},
                                       {DNNL_ARG_ATTR_OUTPUT_SCALES, scales_mem},
                                       {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zero_mem}};
  std::vector<float> bias;  // [out]: in units of the accumulator
  if (impl.has_bias) {
    const auto* b = static_cast<const float*>(impl.bias.get_data_handle());
    bias.resize(scales.size());
    for (std::size_t n = 0; n < bias.size(); ++n) bias[n] = b[n] / scales[n];
    args.emplace(DNNL_ARG_BIAS, memory(impl.pd.bias_desc(), impl.engine, bias.data()));
  }
  execute_matmul(impl, std::move(args));
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
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, impl.weights}, {DNNL_ARG_DST, dst}};
    if (impl.has_bias) args.emplace(DNNL_ARG_BIAS, impl.bias);
    execute_matmul(impl, std::move(args));
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul");
  }
}

}  // namespace zeroshot::kernels
