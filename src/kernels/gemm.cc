#include "kernels/gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

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
  memory bias;     // [1, out], or empty
  bool has_bias = false;
};

namespace {

[[noreturn]] void rethrow_dnnl(const dnnl::error& e, const char* what) {
  throw Error(ErrorCode::kInternal, std::string("oneDNN ") + what + " failed: " + e.what() +
                                        " (status " + std::to_string(static_cast<int>(e.status)) +
                                        ")");
}

// Matmul with a run-time row count: one primitive (and one weight layout) for every batch and
// sequence length. Weights `any` lets oneDNN choose its preferred packing for the fixed [K, N].
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

dnnl::matmul::primitive_desc make_pd(const dnnl::engine& engine, memory::dim k, memory::dim n,
                                     bool has_bias, const LinearEpilogue& epilogue,
                                     bool packed_weights) {
  const memory::desc src({DNNL_RUNTIME_DIM_VAL, k}, DataType::f32, Tag::ab);
  const memory::desc wei({k, n}, DataType::f32, packed_weights ? Tag::any : Tag::ba);
  const memory::desc dst({DNNL_RUNTIME_DIM_VAL, n}, DataType::f32, Tag::ab);
  dnnl::primitive_attr attr;
  // Scratch belongs to the call (passed at execute), so concurrent calls never share it.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
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

}  // namespace

LinearWeights::LinearWeights(std::span<const float> weight, int out_features, int in_features,
                             std::span<const float> bias, const LinearEpilogue& epilogue)
    : in_features_(in_features), out_features_(out_features) {
  if (out_features <= 0 || in_features <= 0 ||
      weight.size() != static_cast<std::size_t>(out_features) * in_features ||
      (!bias.empty() && bias.size() != static_cast<std::size_t>(out_features))) {
    throw Error(ErrorCode::kInvalidArgument,
                "linear weights: " + std::to_string(weight.size()) + " weights and " +
                    std::to_string(bias.size()) + " biases do not fit [" +
                    std::to_string(out_features) + "," + std::to_string(in_features) + "]");
  }
  auto impl = std::make_shared<Impl>();
  try {
    impl->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    impl->has_bias = !bias.empty();
    const memory::dim k = in_features;
    const memory::dim n = out_features;
    try {
      impl->pd = make_pd(impl->engine, k, n, impl->has_bias, epilogue, /*packed_weights=*/true);
    } catch (const dnnl::error&) {
      impl->pd = make_pd(impl->engine, k, n, impl->has_bias, epilogue, /*packed_weights=*/false);
    }
    impl->primitive = dnnl::matmul(impl->pd);

    // HF's [out, in] row-major matrix is W^T as [in, out] in column-major order (tag ba).
    const memory::desc user_md({k, n}, DataType::f32, Tag::ba);
    memory user(user_md, impl->engine, const_cast<float*>(weight.data()));
    impl->weights = memory(impl->pd.weights_desc(), impl->engine);
    dnnl::stream stream(impl->engine);
    dnnl::reorder(user, impl->weights).execute(stream, user, impl->weights);
    if (impl->has_bias) {
      impl->bias = memory(impl->pd.bias_desc(), impl->engine);
      auto* b = static_cast<float*>(impl->bias.get_data_handle());
      for (int i = 0; i < out_features; ++i) b[i] = bias[static_cast<std::size_t>(i)];
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul setup");
  }
  impl_ = std::move(impl);
}

void linear(const float* x, int rows, const LinearWeights& weights, float* y) {
  if (weights.empty()) throw Error(ErrorCode::kInternal, "linear: empty weights");
  if (rows <= 0) return;
  const LinearWeights::Impl& impl = *weights.impl_;
  try {
    const memory::desc src_md({rows, weights.in_features()}, DataType::f32, Tag::ab);
    const memory::desc dst_md({rows, weights.out_features()}, DataType::f32, Tag::ab);
    memory src(src_md, impl.engine, const_cast<float*>(x));
    memory dst(dst_md, impl.engine, y);
    const memory::desc scratch_md = impl.pd.scratchpad_desc();
    std::vector<unsigned char> scratch_bytes(scratch_md.get_size());
    memory scratch(scratch_md, impl.engine, scratch_bytes.empty() ? nullptr : scratch_bytes.data());
    dnnl::stream stream(impl.engine);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_WEIGHTS, impl.weights},
                                         {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratch}};
    if (impl.has_bias) args.emplace(DNNL_ARG_BIAS, impl.bias);
    impl.primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    rethrow_dnnl(e, "matmul");
  }
}

}  // namespace zeroshot::kernels
