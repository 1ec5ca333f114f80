// Exact search against an independent computation: double-precision dot products of every row,
// sorted with std::sort.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "index/search.h"
#include "zeroshot/error.h"

namespace zeroshot::index {
namespace {

// n L2-normalised vectors around a few random centres (clustered, as real embeddings are).
std::vector<float> clustered(std::size_t n, int dim, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> centres(8, std::vector<float>(dim));
  for (auto& c : centres)
    for (auto& x : c) x = normal(rng);
  std::vector<float> out(n * dim);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = centres[rng() % centres.size()];
    double norm = 0;
    for (int k = 0; k < dim; ++k) {
      out[i * dim + k] = c[k] + 0.3f * normal(rng);
      norm += double(out[i * dim + k]) * out[i * dim + k];
    }
    for (int k = 0; k < dim; ++k) out[i * dim + k] /= static_cast<float>(std::sqrt(norm));
  }
  return out;
}

struct Expected {
  std::size_t row;
  double score;
};

std::vector<Expected> reference(const std::vector<float>& v, const std::vector<float>& q, int dim) {
  std::vector<Expected> all;
  for (std::size_t i = 0; i < v.size() / dim; ++i) {
    double s = 0;
    for (int k = 0; k < dim; ++k) s += double(v[i * dim + k]) * q[k];
    all.push_back({i, s});
  }
  std::sort(all.begin(), all.end(), [](const Expected& a, const Expected& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  });
  return all;
}

TEST(IndexSearch, TopKEqualsTheReferenceRanking) {
  const int dim = 24;
  const auto v = clustered(2000, dim, 1);
  const auto queries = clustered(5, dim, 2);
  for (int qi = 0; qi < 5; ++qi) {
    const std::vector<float> q(queries.begin() + qi * dim, queries.begin() + (qi + 1) * dim);
    const auto want = reference(v, q, dim);
    const auto got = exact_search(v, q, dim, {.top_k = 10});
    ASSERT_EQ(got.size(), 10u);
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i].score, want[i].score, 1e-5) << i;
      // Same row unless the reference itself has a near-tie there.
      if (i + 1 < want.size() && want[i].score - want[i + 1].score > 1e-5 &&
          (i == 0 || want[i - 1].score - want[i].score > 1e-5)) {
        EXPECT_EQ(got[i].row, want[i].row) << i;
      }
    }
  }
}

TEST(IndexSearch, AllRowsMinScoreAndEmpty) {
  const int dim = 8;
  const auto v = clustered(300, dim, 3);
  const std::vector<float> q(v.begin(), v.begin() + dim);  // row 0 itself: score 1
  const auto all = exact_search(v, q, dim, {.top_k = 0});
  ASSERT_EQ(all.size(), 300u);
  EXPECT_EQ(all.front().row, 0u);
  EXPECT_NEAR(all.front().score, 1.0, 1e-5);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const Hit& a, const Hit& b) { return a.score > b.score; }));
  const auto want = reference(v, q, dim);
  const auto above = std::count_if(want.begin(), want.end(),
                                   [](const Expected& e) { return e.score >= 0.5 + 1e-5; });
  const auto below = std::count_if(want.begin(), want.end(),
                                   [](const Expected& e) { return e.score >= 0.5 - 1e-5; });
  const auto got = exact_search(v, q, dim, {.top_k = 0, .min_score = 0.5f});
  EXPECT_GE(got.size(), static_cast<std::size_t>(above));
  EXPECT_LE(got.size(), static_cast<std::size_t>(below));
  ASSERT_FALSE(got.empty());
  for (const auto& h : got) EXPECT_GE(h.score, 0.5f);
  EXPECT_TRUE(exact_search({}, q, dim).empty());  // an empty index: no hits, no error
}

TEST(IndexSearch, EqualScoresComeInRowOrder) {
  const int dim = 4;
  std::vector<float> v;
  for (int i = 0; i < 6; ++i) v.insert(v.end(), {1, 0, 0, 0});
  const std::vector<float> q = {1, 0, 0, 0};
  const auto got = exact_search(v, q, dim, {.top_k = 4});
  ASSERT_EQ(got.size(), 4u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].row, i);
}

TEST(IndexSearch, ManyRowsAndQueriesInChunks) {
  // More rows than one GEMM call takes (65536), several queries at once.
  const int dim = 8;
  const auto v = clustered(70001, dim, 4);
  const auto q = clustered(3, dim, 5);
  std::vector<float> scores(70001 * 3);
  score_all(v, q, dim, scores.data());
  for (std::size_t i :
       {std::size_t{0}, std::size_t{65535}, std::size_t{65536}, std::size_t{70000}}) {
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < dim; ++k) s += double(v[i * dim + k]) * q[j * dim + k];
      EXPECT_NEAR(scores[i * 3 + j], s, 1e-5) << i << "," << j;
    }
  }
}

TEST(IndexSearch, MismatchedSizesAreErrors) {
  const std::vector<float> v(16, 0.25f);
  EXPECT_THROW(exact_search(v, std::vector<float>(3, 1.0f), 4), Error);
  EXPECT_THROW(exact_search(std::vector<float>(15, 1.0f), std::vector<float>(4, 1.0f), 4), Error);
  EXPECT_THROW(exact_search(v, std::vector<float>(4, 1.0f), 0), Error);
}

}  // namespace
}  // namespace zeroshot::index
