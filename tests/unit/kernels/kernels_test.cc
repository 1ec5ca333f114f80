// Kernels against naive double-precision reference loops written from the PyTorch definitions.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/ops.h"
#include "zeroshot/error.h"

namespace zeroshot::kernels {
namespace {

std::vector<float> random_vector(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// y = x W^T + b in double.
std::vector<double> naive_linear(const std::vector<float>& x, int m, const std::vector<float>& w,
                                 int n, int k, const std::vector<float>& b) {
  std::vector<double> y(static_cast<std::size_t>(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double s = b.empty() ? 0.0 : b[j];
      for (int p = 0; p < k; ++p) s += static_cast<double>(x[i * k + p]) * w[j * k + p];
      y[i * n + j] = s;
    }
  }
  return y;
}

struct GemmCase {
  int m, n, k;
  bool bias;
};

class LinearTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(LinearTest, MatchesNaive) {
  const GemmCase c = GetParam();
  const auto w = random_vector(static_cast<std::size_t>(c.n) * c.k, 1);
  const auto b = c.bias ? random_vector(c.n, 2) : std::vector<float>{};
  const LinearWeights weights(w, c.n, c.k, b);
  EXPECT_EQ(weights.in_features(), c.k);
  EXPECT_EQ(weights.out_features(), c.n);
  // Several row counts through the same weights (one primitive with a run-time row count, or one
  // per row count with blocked weights).
  for (int m : {c.m, 1, c.m + 3}) {
    const auto x = random_vector(static_cast<std::size_t>(m) * c.k, 3 + m);
    std::vector<float> y(static_cast<std::size_t>(m) * c.n, NAN);
    linear(x.data(), m, weights, y.data());
    const auto ref = naive_linear(x, m, w, c.n, c.k, b);
    const double tol = 1e-5 * std::sqrt(static_cast<double>(c.k)) * 4;
    for (std::size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], ref[i], tol) << "m=" << m << " i=" << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearTest,
    ::testing::Values(GemmCase{1, 1, 1, true}, GemmCase{3, 5, 7, false}, GemmCase{7, 48, 16, true},
                      GemmCase{50, 192, 64, true}, GemmCase{13, 35, 769, true},
                      GemmCase{77, 512, 512, false}, GemmCase{37, 1024, 768, true},
                      GemmCase{49, 64, 3072, false}, GemmCase{50, 256, 64, true},
                      GemmCase{50, 64, 256, true}, GemmCase{1470, 64, 3072, false}));

TEST(Linear, RejectsSizesThatDisagree) {
  const std::vector<float> w(6), b(4);
  EXPECT_THROW(LinearWeights(w, 2, 4, {}), Error);
  EXPECT_THROW(LinearWeights(w, 2, 3, b), Error);
  EXPECT_NO_THROW(LinearWeights(w, 2, 3, std::span<const float>(b.data(), 2)));
}

// Weights whose memory outlives them (a file mapping) are used in place where oneDNN's kernel
// takes a plain layout; either way the product is the same, and y_stride leaves the other
// columns of a wider output alone (q, k and v side by side).
TEST(Linear, BorrowedWeightsAndOutputStride) {
  const int m = 23, n = 48, k = 40, stride = 3 * n;
  auto owned =
      std::make_shared<std::vector<float>>(random_vector(static_cast<std::size_t>(n) * k, 7));
  const auto b = random_vector(n, 8);
  const auto x = random_vector(static_cast<std::size_t>(m) * k, 9);
  const auto ref = naive_linear(x, m, *owned, n, k, b);
  const LinearEpilogue side_by_side{
      .activation = std::nullopt, .accumulate = false, .y_stride = stride};
  for (bool borrow : {false, true}) {
    const LinearWeights weights(*owned, n, k, b, side_by_side, GemmPrecision::kF32,
                                borrow ? owned : nullptr);
    if (!borrow) {
      EXPECT_FALSE(weights.borrowed());
    }
    std::vector<float> y(static_cast<std::size_t>(m) * stride, -7.0f);  // [m, 3n]
    linear(x.data(), m, weights, y.data() + n);                         // the middle n columns
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < stride; ++j) {
        const float got = y[static_cast<std::size_t>(i) * stride + j];
        if (j < n || j >= 2 * n) {
          ASSERT_EQ(got, -7.0f) << "row " << i << " column " << j << " written";
        } else {
          ASSERT_NEAR(got, ref[static_cast<std::size_t>(i) * n + j - n], 1e-4) << borrow;
        }
      }
    }
  }
  const auto w = random_vector(static_cast<std::size_t>(n) * k, 10);
  EXPECT_THROW(LinearWeights(w, n, k, b,
                             {.activation = std::nullopt, .accumulate = false, .y_stride = n - 1}),
               Error);
}

// q, k and v stacked by output rows into one GEMM give what the three would, whether the blocks
// are borrowed (packed on first use, where the CPU's fastest kernel takes blocked weights) or
// copied at construction; on_packed runs once, on the first call, only for lazily packed weights.
TEST(Linear, StackedRowBlocksMatchNaiveAndPackOnce) {
  const int m = 17, k = 48, h = 40;
  auto blocks = std::make_shared<std::vector<std::vector<float>>>();
  for (unsigned seed : {21u, 22u, 23u})
    blocks->push_back(random_vector(static_cast<std::size_t>(h) * k, seed));
  std::vector<float> all;  // [3h, k]
  for (const auto& block : *blocks) all.insert(all.end(), block.begin(), block.end());
  const auto b = random_vector(3 * h, 24);
  const auto x = random_vector(static_cast<std::size_t>(m) * k, 25);
  const auto ref = naive_linear(x, m, all, 3 * h, k, b);
  const std::vector<std::span<const float>> spans{(*blocks)[0], (*blocks)[1], (*blocks)[2]};
  for (bool borrow : {false, true}) {
    int packed = 0;
    const LinearWeights weights(spans, k, b, {}, GemmPrecision::kF32, borrow ? blocks : nullptr,
                                [&packed] { ++packed; });
    EXPECT_EQ(weights.out_features(), 3 * h);
    const bool lazy = borrow && weights.per_row_count();
    EXPECT_EQ(weights.borrowed(), lazy) << "three blocks are used in place only once packed";
    EXPECT_EQ(packed, 0) << "nothing is packed before the first call";
    for (int call = 0; call < 2; ++call) {
      std::vector<float> y(static_cast<std::size_t>(m) * 3 * h, NAN);
      linear(x.data(), m, weights, y.data());
      for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-4) << borrow;
    }
    EXPECT_EQ(packed, lazy ? 1 : 0) << borrow;
  }
  EXPECT_EQ(packs_weights(3 * h, k, GemmPrecision::kInt8), true);
  // A block that is not whole rows, and a bias of the wrong length.
  const std::vector<std::span<const float>> ragged{(*blocks)[0],
                                                   std::span<const float>(all.data(), k - 1)};
  EXPECT_THROW(LinearWeights(ragged, k, {}), Error);
  EXPECT_THROW(LinearWeights(spans, k, std::span<const float>(b.data(), 3 * h - 1)), Error);
}

// Many threads making the first call at once on weights packed lazily: one packing, every
// result right.
TEST(Linear, ConcurrentFirstCallsPackOnce) {
  const int n = 64, k = 72;
  auto w = std::make_shared<std::vector<float>>(random_vector(static_cast<std::size_t>(n) * k, 31));
  const auto b = random_vector(n, 32);
  std::atomic<int> packed{0};
  const LinearWeights weights(*w, n, k, b, {}, GemmPrecision::kF32, w, [&packed] { ++packed; });
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const int m = 3 + 5 * t;
      const auto x = random_vector(static_cast<std::size_t>(m) * k, 40 + t);
      std::vector<float> y(static_cast<std::size_t>(m) * n);
      linear(x.data(), m, weights, y.data());
      const auto ref = naive_linear(x, m, *w, n, k, b);
      for (std::size_t i = 0; i < y.size(); ++i) failures[t] += std::abs(y[i] - ref[i]) > 1e-4;
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_EQ(packed.load(), weights.per_row_count() ? 1 : 0);
}

double reference_activation(Activation a, double x) {
  switch (a) {
    case Activation::kQuickGelu:
      return x / (1 + std::exp(-1.702 * x));
    case Activation::kGelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::kGeluTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return 0;
}

TEST(Linear, FusedEpiloguesMatchNaive) {
  const int m = 19, n = 37, k = 29;
  const auto w = random_vector(static_cast<std::size_t>(n) * k, 41);
  const auto b = random_vector(n, 42);
  const auto x = random_vector(static_cast<std::size_t>(m) * k, 43);
  const auto y0 = random_vector(static_cast<std::size_t>(m) * n, 44);  // residual stream
  const auto ref = naive_linear(x, m, w, n, k, b);
  for (auto act : {Activation::kQuickGelu, Activation::kGelu, Activation::kGeluTanh}) {
    for (bool accumulate : {false, true}) {
      const LinearWeights weights(w, n, k, b, {.activation = act, .accumulate = accumulate});
      std::vector<float> y = y0;
      linear(x.data(), m, weights, y.data());
      for (std::size_t i = 0; i < y.size(); ++i) {
        const double want = reference_activation(act, ref[i]) + (accumulate ? y0[i] : 0.0);
        ASSERT_NEAR(y[i], want, 1e-5 * std::max(1.0, std::abs(want)))
            << static_cast<int>(act) << " " << accumulate << " " << i;
      }
    }
  }
  // Accumulation alone: a residual connection.
  const LinearWeights residual(w, n, k, b, {.activation = std::nullopt, .accumulate = true});
  std::vector<float> y = y0;
  linear(x.data(), m, residual, y.data());
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], ref[i] + y0[i], 1e-5);
}

TEST(Attention, PackedSequencesMatchOneByOne) {
  const int hidden = 24, heads = 3;
  const std::vector<int> offsets{0, 5, 6, 40, 90};
  const auto qkv = random_vector(90 * 3 * hidden, 77);
  for (bool causal : {false, true}) {
    std::vector<float> packed(90 * hidden, NAN), single(90 * hidden, NAN);
    attention_packed(qkv.data(), offsets, hidden, heads, causal, packed.data());
    for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
      attention(qkv.data() + offsets[s] * 3 * hidden, {offsets[s + 1] - offsets[s], hidden, heads},
                causal, single.data() + offsets[s] * hidden);
    }
    // Bit for bit where both take the loops; a sequence of 16 or more tokens alone (not causal)
    // takes oneDNN's matmuls, whose sums round differently.
    for (std::size_t i = 0; i < packed.size(); ++i) ASSERT_NEAR(packed[i], single[i], 1e-5) << i;
    if (causal) {
      EXPECT_EQ(packed, single);
    }
  }
}

TEST(Linear, ConcurrentCallsOnSharedWeights) {
  const int n = 96, k = 80;
  const auto w = random_vector(static_cast<std::size_t>(n) * k, 7);
  const auto b = random_vector(n, 8);
  const LinearWeights weights(w, n, k, b);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int iter = 0; iter < 20; ++iter) {
        const int m = 1 + (t * 7 + iter * 3) % 40;
        const auto x = random_vector(static_cast<std::size_t>(m) * k, 100 + t * 50 + iter);
        std::vector<float> y(static_cast<std::size_t>(m) * n);
        linear(x.data(), m, weights, y.data());
        const auto ref = naive_linear(x, m, w, n, k, b);
        for (std::size_t i = 0; i < y.size(); ++i) failures[t] += std::abs(y[i] - ref[i]) > 1e-3;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(LayerNorm, MatchesNaive) {
  for (int dim : {1, 5, 16, 768, 1001}) {
    const int rows = 3;
    auto x = random_vector(static_cast<std::size_t>(rows) * dim, dim, 3.0f);
    for (float& v : x) v += 10.0f;  // an offset that a one-pass variance would suffer from
    const auto g = random_vector(dim, 11);
    const auto b = random_vector(dim, 12);
    std::vector<float> y(x.size());
    layer_norm(x.data(), rows, dim, g.data(), b.data(), 1e-5f, y.data());
    for (int r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int i = 0; i < dim; ++i) mean += x[r * dim + i];
      mean /= dim;
      for (int i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
      var /= dim;
      for (int i = 0; i < dim; ++i) {
        const double ref = (x[r * dim + i] - mean) / std::sqrt(var + 1e-5) * g[i] + b[i];
        ASSERT_NEAR(y[r * dim + i], ref, 1e-5) << dim;
      }
    }
    // In place gives the same result.
    layer_norm(x.data(), rows, dim, g.data(), b.data(), 1e-5f, x.data());
    EXPECT_EQ(x, y);
  }
}

TEST(Softmax, MatchesNaiveAndIsStable) {
  const int rows = 4, cols = 9;
  auto x = random_vector(rows * cols, 21, 5.0f);
  x[0] = 1000.0f;  // would overflow exp() without the max subtraction
  x[1] = 999.0f;
  const auto orig = x;
  softmax_rows(x.data(), rows, cols);
  for (int r = 0; r < rows; ++r) {
    double mx = -1e300, sum = 0;
    for (int i = 0; i < cols; ++i) mx = std::max<double>(mx, orig[r * cols + i]);
    for (int i = 0; i < cols; ++i) sum += std::exp(orig[r * cols + i] - mx);
    for (int i = 0; i < cols; ++i) {
      ASSERT_NEAR(x[r * cols + i], std::exp(orig[r * cols + i] - mx) / sum, 1e-6);
    }
  }
}

TEST(Activation, MatchesDefinitions) {
  std::vector<float> base;
  for (float v = -8.0f; v <= 8.0f; v += 0.0625f) base.push_back(v);
  auto quick = base, exact = base, tanh_approx = base;
  activate(Activation::kQuickGelu, quick.data(), quick.size());
  activate(Activation::kGelu, exact.data(), exact.size());
  activate(Activation::kGeluTanh, tanh_approx.data(), tanh_approx.size());
  for (std::size_t i = 0; i < base.size(); ++i) {
    const double x = base[i];
    ASSERT_NEAR(quick[i], x / (1 + std::exp(-1.702 * x)), 2e-6) << x;
    ASSERT_NEAR(exact[i], 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))), 2e-6) << x;
    const double t = std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x));
    ASSERT_NEAR(tanh_approx[i], 0.5 * x * (1 + t), 2e-6) << x;
  }
  // The three differ: a mixed-up activation would not pass unnoticed.
  EXPECT_GT(std::abs(quick[100] - exact[100]), 1e-3);
}

// Attention exactly as HF writes it: q * scale, scores = q k^T + mask(-inf above the diagonal),
// softmax, @ v; heads concatenated.
std::vector<double> naive_attention(const std::vector<float>& qkv, int t, int hidden, int heads,
                                    bool causal) {
  const int d = hidden / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> out(static_cast<std::size_t>(t) * hidden, 0.0);
  auto at = [&](int row, int col) { return static_cast<double>(qkv[row * 3 * hidden + col]); };
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < t; ++i) {
      std::vector<double> s(t);
      double mx = -1e300;
      for (int j = 0; j < t; ++j) {
        double v = 0;
        for (int c = 0; c < d; ++c) v += at(i, h * d + c) * scale * at(j, hidden + h * d + c);
        s[j] = (causal && j > i) ? -1e300 : v;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (int j = 0; j < t; ++j) sum += (s[j] = (causal && j > i) ? 0.0 : std::exp(s[j] - mx));
      for (int j = 0; j < t; ++j) {
        for (int c = 0; c < d; ++c)
          out[i * hidden + h * d + c] += s[j] / sum * at(j, 2 * hidden + h * d + c);
      }
    }
  }
  return out;
}

TEST(Attention, MatchesNaiveWithAndWithoutCausalMask) {
  struct Case {
    int tokens, hidden, heads;
  };
  for (const Case c : {Case{1, 4, 1}, Case{7, 15, 3}, Case{50, 64, 4}, Case{77, 16, 2}}) {
    for (bool causal : {false, true}) {
      const auto qkv =
          random_vector(static_cast<std::size_t>(c.tokens) * 3 * c.hidden, c.tokens, 2.0f);
      std::vector<float> out(static_cast<std::size_t>(c.tokens) * c.hidden, NAN);
      attention(qkv.data(), {c.tokens, c.hidden, c.heads}, causal, out.data());
      const auto ref = naive_attention(qkv, c.tokens, c.hidden, c.heads, causal);
      for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_NEAR(out[i], ref[i], 1e-5) << c.tokens << " " << causal << " " << i;
      }
    }
  }
}

// A batch of equal-length sequences (a vision tower's images: oneDNN's batched matmuls from 16
// tokens) against the naive loops sequence by sequence; a head dimension of 64 as in CLIP.
TEST(Attention, EqualLengthBatchMatchesNaive) {
  const int t = 50, hidden = 128, heads = 2, sequences = 3;
  const auto qkv = random_vector(static_cast<std::size_t>(sequences) * t * 3 * hidden, 91, 2.0f);
  const std::vector<int> offsets{0, t, 2 * t, 3 * t};
  std::vector<float> out(static_cast<std::size_t>(sequences) * t * hidden, NAN);
  attention_packed(qkv.data(), offsets, hidden, heads, false, out.data());
  for (int s = 0; s < sequences; ++s) {
    const auto first = qkv.begin() + static_cast<std::ptrdiff_t>(s) * t * 3 * hidden;
    const std::vector<float> own(first, first + static_cast<std::ptrdiff_t>(t) * 3 * hidden);
    const auto ref = naive_attention(own, t, hidden, heads, false);
    for (std::size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(out[static_cast<std::size_t>(s) * t * hidden + i], ref[i], 1e-5) << s << " " << i;
  }
}

TEST(Attention, CausalRowsIgnoreLaterTokens) {
  const int t = 6, hidden = 8, heads = 2;
  auto qkv = random_vector(t * 3 * hidden, 5);
  std::vector<float> a(t * hidden), b(t * hidden);
  attention(qkv.data(), {t, hidden, heads}, true, a.data());
  for (int c = 0; c < 3 * hidden; ++c) qkv[(t - 1) * 3 * hidden + c] += 100.0f;  // last token
  attention(qkv.data(), {t, hidden, heads}, true, b.data());
  for (int i = 0; i < (t - 1) * hidden; ++i) EXPECT_EQ(a[i], b[i]);
}

// Two sequences that start with the same `pre` rows: attending to those rows' saved keys and
// values (AttentionOptions::prefix_qkv) gives each own row what the whole sequence would; the
// one-row outputs (kFirst, kLast) are those rows of the full result.
TEST(Attention, SharedPrefixAndSingleOutputRowsMatchNaive) {
  const int hidden = 12, heads = 3, pre = 3;
  const int own[2] = {4, 2};
  const auto prefix = random_vector(static_cast<std::size_t>(pre) * 3 * hidden, 61, 2.0f);
  std::vector<float> packed;  // the sequences' own rows, [6, 3*hidden]
  std::vector<std::vector<float>> whole(2);
  for (int s = 0; s < 2; ++s) {
    const auto rows = random_vector(static_cast<std::size_t>(own[s]) * 3 * hidden, 62 + s, 2.0f);
    packed.insert(packed.end(), rows.begin(), rows.end());
    whole[s] = prefix;
    whole[s].insert(whole[s].end(), rows.begin(), rows.end());
  }
  const int offsets[3] = {0, own[0], own[0] + own[1]};
  for (bool causal : {false, true}) {
    std::vector<double> ref[2];
    for (int s = 0; s < 2; ++s)
      ref[s] = naive_attention(whole[s], pre + own[s], hidden, heads, causal);
    std::vector<float> all(static_cast<std::size_t>(offsets[2]) * hidden, NAN);
    attention_packed(packed.data(), offsets, hidden, heads, causal, all.data(),
                     {.queries = QueryRows::kAll, .prefix_qkv = prefix.data(), .prefix_rows = pre});
    for (int s = 0; s < 2; ++s) {
      for (int i = 0; i < own[s] * hidden; ++i)
        ASSERT_NEAR(all[offsets[s] * hidden + i], ref[s][pre * hidden + i], 1e-5) << s << " " << i;
    }
    for (QueryRows rows : {QueryRows::kFirst, QueryRows::kLast}) {
      std::vector<float> one(2 * hidden, NAN);  // [sequences, hidden]
      attention_packed(packed.data(), offsets, hidden, heads, causal, one.data(),
                       {.queries = rows, .prefix_qkv = prefix.data(), .prefix_rows = pre});
      for (int s = 0; s < 2; ++s) {
        const int row = pre + (rows == QueryRows::kFirst ? 0 : own[s] - 1);
        for (int c = 0; c < hidden; ++c)
          ASSERT_NEAR(one[s * hidden + c], ref[s][row * hidden + c], 1e-5) << s << " " << c;
      }
    }
  }
}

// Patch embedding = Conv2d(stride = kernel = patch, no bias), checked against a direct conv.
TEST(PatchEmbedding, Im2colPlusGemmEqualsConvolution) {
  for (int size : {9, 10, 12}) {  // 10 leaves a remainder that the conv ignores
    const int channels = 3, patch = 3, out_ch = 5;
    const int grid = size / patch;
    const auto image = random_vector(static_cast<std::size_t>(channels) * size * size, size);
    const auto w = random_vector(static_cast<std::size_t>(out_ch) * channels * patch * patch, 31);
    std::vector<float> cols(static_cast<std::size_t>(grid) * grid * channels * patch * patch);
    im2col_patches(image.data(), channels, size, patch, cols.data());
    const LinearWeights weights(w, out_ch, channels * patch * patch, {});
    std::vector<float> y(static_cast<std::size_t>(grid) * grid * out_ch);
    linear(cols.data(), grid * grid, weights, y.data());
    for (int gy = 0; gy < grid; ++gy) {
      for (int gx = 0; gx < grid; ++gx) {
        for (int o = 0; o < out_ch; ++o) {
          double s = 0;
          for (int c = 0; c < channels; ++c) {
            for (int ky = 0; ky < patch; ++ky) {
              for (int kx = 0; kx < patch; ++kx) {
                s += static_cast<double>(w[((o * channels + c) * patch + ky) * patch + kx]) *
                     image[(c * size + gy * patch + ky) * size + gx * patch + kx];
              }
            }
          }
          ASSERT_NEAR(y[(gy * grid + gx) * out_ch + o], s, 1e-4);
        }
      }
    }
  }
}

}  // namespace
}  // namespace zeroshot::kernels
