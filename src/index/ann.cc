#include "index/ann.h"

// hnswlib 0.6.2's SSE code path (USE_SSE) prefetches `*(datal + j + 1)` in searchBaseLayer, one
// link past the end of an upper layer's list: a heap read out of bounds that ASan reports
// (AnnIndex tests in the ASan stage). Without its manual vectorisation hnswlib has no prefetch;
// the distance is ours (InnerProductDistance below), so nothing is lost but a prefetch hint.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include "util/cpu_dispatch.h"
#include "zeroshot/error.h"

namespace zeroshot::index {

namespace {

// 1 - dot(a, b) over `dim` floats, hnswlib's inner-product distance. Eight partial sums in a
// fixed-width inner loop, which the compiler turns into vector instructions (hnswlib's own
// scalar fallback is one serial sum). Cloned for AVX2: the graph's build is mostly this function.
ZEROSHOT_TARGET_CLONES float inner_product_distance(const void* a, const void* b,
                                                    const void* dim_ptr) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const std::size_t dim = *static_cast<const std::size_t*>(dim_ptr);
  float partial[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8)
    for (std::size_t k = 0; k < 8; ++k) partial[k] += x[i + k] * y[i + k];
  float sum = 0;
  for (; i < dim; ++i) sum += x[i] * y[i];
  for (float p : partial) sum += p;
  return 1.0f - sum;
}

class InnerProductDistance : public hnswlib::SpaceInterface<float> {
 public:
  explicit InnerProductDistance(std::size_t dim) : dim_(dim) {}
  std::size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return inner_product_distance; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  std::size_t dim_;
};

}  // namespace

struct AnnIndex::Graph {
  InnerProductDistance space;  // distance = 1 - dot
  hnswlib::HierarchicalNSW<float> hnsw;
  Graph(int dim, std::size_t n, const AnnOptions& o)
      : space(static_cast<std::size_t>(dim)),
        hnsw(&space, std::max<std::size_t>(n, 1), o.m, o.ef_construction, /*random_seed=*/100) {}
};

AnnIndex::AnnIndex(std::span<const float> vectors, int dim, const AnnOptions& options)
    : dim_(dim), ef_search_(std::max<std::size_t>(options.ef_search, 1)) {
  if (dim <= 0 || vectors.size() % static_cast<std::size_t>(dim) != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "approximate search: " + std::to_string(vectors.size()) +
                    " floats are not rows of " + std::to_string(dim));
  }
  const auto d = static_cast<std::size_t>(dim);
  const std::size_t n = vectors.size() / d;
  graph_ = std::make_unique<Graph>(dim, n, options);
  graph_->hnsw.setEf(ef_search_);
  if (n == 0) return;
  // The first point alone (it is the entry point), then the rest on threads: hnswlib's addPoint
  // may run concurrently.
  graph_->hnsw.addPoint(vectors.data(), 0);
  std::size_t threads = options.threads ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp<std::size_t>(threads, 1, std::max<std::size_t>(n / 1000, 1));
  std::atomic<std::size_t> next = 1;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto work = [&] {
    try {
      for (std::size_t i = next++; i < n; i = next++)
        graph_->hnsw.addPoint(vectors.data() + i * d, i);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  // Candidates per search: hnswlib keeps one value in the graph (searches use max(ef, k)).
  graph_->hnsw.setEf(ef_search_);
}

AnnIndex::~AnnIndex() = default;

void AnnIndex::set_ef_search(std::size_t ef) {
  ef_search_ = std::max<std::size_t>(ef, 1);
  graph_->hnsw.setEf(ef_search_);
}

std::size_t AnnIndex::size() const { return graph_->hnsw.cur_element_count; }

std::vector<Hit> AnnIndex::search(std::span<const float> vectors, std::span<const float> query,
                                  const SearchOptions& options) const {
  if (query.size() != static_cast<std::size_t>(dim_)) {
    throw Error(ErrorCode::kInvalidArgument,
                "search: the query has " + std::to_string(query.size()) +
                    " floats; the index's vectors " + std::to_string(dim_));
  }
  const std::size_t n = size();
  if (options.top_k == 0 || options.top_k >= n) return exact_search(vectors, query, dim_, options);
  auto found = graph_->hnsw.searchKnn(query.data(), options.top_k);
  std::vector<Hit> hits;
  hits.reserve(found.size());
  const auto d = static_cast<std::size_t>(dim_);
  for (; !found.empty(); found.pop()) {
    const std::size_t row = found.top().second;
    // The exact dot product (the graph's distance is 1 - dot, rounded differently).
    float dot = 0;
    for (std::size_t j = 0; j < d; ++j) dot += vectors[row * d + j] * query[j];
    if (dot >= options.min_score) hits.push_back({row, dot});
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  });
  return hits;
}

}  // namespace zeroshot::index
