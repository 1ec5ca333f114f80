// Approximate search (index::AnnIndex, an HNSW graph) against exact search on clustered synthetic
// embeddings: recall@10, the scores of what it finds, order, top_k and min_score.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "index/ann.h"
#include "index/search.h"
#include "unit/index/clustered.h"
#include "zeroshot/error.h"

namespace zeroshot::index {
namespace {

TEST(AnnIndex, RecallAt10AgainstExactOnClusteredVectors) {
  constexpr int kDim = 128;
  constexpr std::size_t kN = 10000, kQueries = 100;
  testing::Clustered data(/*clusters=*/200, kDim, /*noise=*/0.06f, /*seed=*/7);
  const auto vectors = data.draw(kN);
  const auto queries = data.draw(kQueries);
  const AnnIndex ann(vectors, kDim);
  EXPECT_EQ(ann.size(), kN);
  std::size_t found = 0;
  for (std::size_t q = 0; q < kQueries; ++q) {
    const std::span<const float> query(queries.data() + q * kDim, kDim);
    const auto exact = exact_search(vectors, query, kDim, {.top_k = 10});
    const auto approx = ann.search(vectors, query, {.top_k = 10});
    ASSERT_EQ(approx.size(), 10u);
    std::set<std::size_t> truth;
    for (const auto& h : exact) truth.insert(h.row);
    for (std::size_t i = 0; i < approx.size(); ++i) {
      found += truth.count(approx[i].row);
      // Each hit carries its exact score, best first.
      float dot = 0;
      for (int j = 0; j < kDim; ++j) dot += vectors[approx[i].row * kDim + j] * query[j];
      EXPECT_NEAR(approx[i].score, dot, 1e-5);
      if (i > 0) {
        EXPECT_GE(approx[i - 1].score, approx[i].score);
      }
    }
  }
  const double recall = static_cast<double>(found) / (10.0 * kQueries);
  std::printf("recall@10 = %.4f over %zu queries, %zu clustered %d-d vectors\n", recall, kQueries,
              kN, kDim);
  EXPECT_GE(recall, 0.95);
}

TEST(AnnIndex, TopKZeroIsExactAndMinScoreCuts) {
  constexpr int kDim = 32;
  testing::Clustered data(20, kDim, 0.1f, 3);
  const auto vectors = data.draw(3000);
  const auto query = data.draw(1);
  const AnnIndex ann(vectors, kDim, {.threads = 1});
  const auto all = ann.search(vectors, query, {.top_k = 0});
  const auto exact = exact_search(vectors, query, kDim, {.top_k = 0});
  ASSERT_EQ(all.size(), exact.size());
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].row, exact[i].row);
  const float cut = exact[4].score - 1e-6f;
  const auto above = ann.search(vectors, query, {.top_k = 50, .min_score = cut});
  EXPECT_LE(above.size(), 5u);
  for (const auto& h : above) EXPECT_GE(h.score, cut);
}

TEST(AnnIndex, EmptyAndBadSizes) {
  const std::vector<float> none;
  const AnnIndex empty(none, 8);
  const std::vector<float> q(8, 0.5f);
  EXPECT_TRUE(empty.search(none, q, {.top_k = 3}).empty());
  EXPECT_THROW(AnnIndex(std::vector<float>(10), 8), Error);
  EXPECT_THROW((void)empty.search(none, std::vector<float>(3), {}), Error);
}

}  // namespace
}  // namespace zeroshot::index
