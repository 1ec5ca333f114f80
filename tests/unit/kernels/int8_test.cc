// The int8 GEMM path against a double-precision reference of the float product (accuracy bounds
// of dynamic per-tensor activation and per-channel weight quantisation), and ThreadScope.
#include <gtest/gtest.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/threads.h"

namespace zeroshot::kernels {
namespace {

std::vector<float> random_vector(std::size_t n, unsigned seed, float scale, float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(shift, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Relative L2 error of got against the double reference.
double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / norm);
}

struct Case {
  int m, n, k;
  bool bias;
  float shift;  // activations not centred on 0 exercise the zero point
};

class Int8Gemm : public ::testing::TestWithParam<Case> {};

TEST_P(Int8Gemm, CloseToTheFloatProduct) {
  const Case c = GetParam();
  const auto x = random_vector(static_cast<std::size_t>(c.m) * c.k, 1, 1.0f, c.shift);
  const auto w = random_vector(static_cast<std::size_t>(c.n) * c.k, 2, 0.02f);
  const auto b =
      c.bias ? random_vector(static_cast<std::size_t>(c.n), 3, 0.1f) : std::vector<float>{};
  std::vector<double> want(static_cast<std::size_t>(c.m) * c.n);  // [m, n]
  for (int i = 0; i < c.m; ++i)
    for (int j = 0; j < c.n; ++j) {
      double s = c.bias ? b[j] : 0.0;
      for (int p = 0; p < c.k; ++p) s += static_cast<double>(x[i * c.k + p]) * w[j * c.k + p];
      want[static_cast<std::size_t>(i) * c.n + j] = s;
    }
  const LinearWeights weights(w, c.n, c.k, b, {}, GemmPrecision::kInt8);
  EXPECT_EQ(weights.precision(), GemmPrecision::kInt8);
  std::vector<float> y(want.size());
  linear(x.data(), c.m, weights, y.data());
  // 7- or 8-bit activations and 8-bit weights: a few percent at most.
  EXPECT_LT(relative_error(y, want), 0.03);

  // The epilogue: accumulate into y (a residual add) after the activation-free product.
  const LinearWeights residual(w, c.n, c.k, b, {.activation = std::nullopt, .accumulate = true},
                               GemmPrecision::kInt8);
  std::vector<float> acc(want.size(), 1.0f);
  linear(x.data(), c.m, residual, acc.data());
  std::vector<double> want_acc(want);
  for (double& v : want_acc) v += 1.0;
  EXPECT_LT(relative_error(acc, want_acc), 0.03);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Int8Gemm,
                         ::testing::Values(Case{1, 16, 32, true, 0.0f},
                                           Case{50, 96, 768, true, 0.5f},
                                           Case{7, 768, 96, false, -0.3f},
                                           Case{3, 5, 7, true, 2.0f}));

TEST(Int8Gemm, ZeroInputGivesTheBias) {
  const auto w = random_vector(8 * 4, 2, 0.02f);
  const std::vector<float> b = {1, 2, 3, 4, 5, 6, 7, 8};
  const LinearWeights weights(w, 8, 4, b, {}, GemmPrecision::kInt8);
  const std::vector<float> x(2 * 4, 0.0f);
  std::vector<float> y(2 * 8);
  linear(x.data(), 2, weights, y.data());
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(y[i], b[i % 8]);
}

// Which form int8 takes: on AVX-512 with VNNI, oneDNN's brgemm (blocked weights) with the
// activation scale as a post-op; capped at AVX2 (the int8_test.avx2 run), its gemm kernels (plain
// weights) with run-time output scales. The constructor asks oneDNN for the layout of the post-op
// form and keeps that form only where the layout is blocked: probing the other form instead would
// leave AVX-512 on the slow plain path, with results that still pass the tests above.
TEST(Int8Gemm, TakesBrgemmWhereTheCpuHasIt) {
  const auto w = random_vector(96 * 768, 2, 0.02f);
  const auto b = random_vector(96, 3, 0.1f);
  const LinearWeights weights(w, 96, 768, b, {}, GemmPrecision::kInt8);
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool avx512_vnni = isa == dnnl::cpu_isa::avx512_core_vnni ||
                           isa == dnnl::cpu_isa::avx512_core_bf16 ||
                           isa == dnnl::cpu_isa::avx512_core_amx;
  const bool at_most_avx2 = isa == dnnl::cpu_isa::sse41 || isa == dnnl::cpu_isa::avx ||
                            isa == dnnl::cpu_isa::avx2 || isa == dnnl::cpu_isa::avx2_vnni;
  ::testing::Test::RecordProperty("blocked", weights.per_row_count() ? "yes" : "no");
  if (avx512_vnni) {
    EXPECT_TRUE(weights.per_row_count()) << "int8 left brgemm on AVX-512 VNNI";
  }
  if (at_most_avx2) {
    EXPECT_FALSE(weights.per_row_count()) << "no brgemm below AVX-512";
  }
}

TEST(ThreadScope, SetsAndRestoresTheCallingThreadsCount) {
  const int before = omp_get_max_threads();
  {
    const ThreadScope scope(1);
    EXPECT_EQ(omp_get_max_threads(), 1);
    {
      const ThreadScope none(0);  // leaves it alone
      EXPECT_EQ(omp_get_max_threads(), 1);
    }
  }
  EXPECT_EQ(omp_get_max_threads(), before);
  EXPECT_GE(available_cores(), 1);
}

}  // namespace
}  // namespace zeroshot::kernels
