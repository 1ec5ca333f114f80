#include "index/search.h"

#include <algorithm>
#include <string>

#include "kernels/gemm.h"
#include "zeroshot/error.h"

namespace zeroshot::index {
namespace {

void check_sizes(std::span<const float> vectors, std::span<const float> queries, int dim) {
  if (dim <= 0 || vectors.size() % static_cast<std::size_t>(dim) != 0 ||
      queries.size() % static_cast<std::size_t>(dim) != 0) {
    throw Error(ErrorCode::kInvalidArgument, "search: " + std::to_string(vectors.size()) +
                                                 " stored and " + std::to_string(queries.size()) +
                                                 " query floats are not rows of " +
                                                 std::to_string(dim));
  }
}

// Best first; ties in row order (a total order, so results do not depend on the sort).
bool better(const Hit& a, const Hit& b) {
  return a.score > b.score || (a.score == b.score && a.row < b.row);
}

}  // namespace

void score_all(std::span<const float> vectors, std::span<const float> queries, int dim,
               float* scores) {
  check_sizes(vectors, queries, dim);
  const auto d = static_cast<std::size_t>(dim);
  const std::size_t n = vectors.size() / d;
  const std::size_t q = queries.size() / d;
  if (n == 0 || q == 0) return;
  // The queries are the "weights" of one linear layer: y [rows, q] = x [rows, dim] . W^T.
  const kernels::LinearWeights weights(queries, static_cast<int>(q), dim, {});
  // 64K rows a call: the GEMM sees plenty of rows, and the row count fits an int for any n.
  constexpr std::size_t kChunk = 65536;
  for (std::size_t first = 0; first < n; first += kChunk) {
    const std::size_t rows = std::min(kChunk, n - first);
    kernels::linear(vectors.data() + first * d, static_cast<int>(rows), weights,
                    scores + first * q);
  }
}

std::vector<Hit> exact_search(std::span<const float> vectors, std::span<const float> query, int dim,
                              const SearchOptions& options) {
  check_sizes(vectors, query, dim);
  if (query.size() != static_cast<std::size_t>(dim)) {
    throw Error(ErrorCode::kInvalidArgument,
                "search: the query has " + std::to_string(query.size()) +
                    " floats; the index's vectors " + std::to_string(dim));
  }
  const std::size_t n = vectors.size() / static_cast<std::size_t>(dim);
  std::vector<float> scores(n);  // [n]
  score_all(vectors, query, dim, scores.data());
  std::vector<Hit> hits;
  hits.reserve(options.top_k > 0 ? std::min(options.top_k, n) + 1 : n);
  // A heap of the best top_k so far (its worst on top): O(n log k), no copy of all n scores.
  for (std::size_t i = 0; i < n; ++i) {
    if (!(scores[i] >= options.min_score)) continue;  // NaN scores never match
    const Hit h{i, scores[i]};
    if (options.top_k == 0 || hits.size() < options.top_k) {
      hits.push_back(h);
      if (options.top_k) std::push_heap(hits.begin(), hits.end(), better);
    } else if (better(h, hits.front())) {
      std::pop_heap(hits.begin(), hits.end(), better);
      hits.back() = h;
      std::push_heap(hits.begin(), hits.end(), better);
    }
  }
  std::sort(hits.begin(), hits.end(), better);
  return hits;
}

}  // namespace zeroshot::index
