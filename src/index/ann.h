// Approximate search over an index's vectors: an HNSW graph (hnswlib, Debian's header-only
// libhnswlib-dev) over the inner product, built from the stored vectors in memory. For large
// collections (hundreds of thousands of vectors and more) a query visits a few thousand vectors
// instead of all of them; its recall against exact_search is measured by tests/unit/index and
// bench/search_bench (clustered data: uniform random vectors in 512 dimensions have no near
// neighbours to find, and make any graph index look broken).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "index/search.h"

namespace zeroshot::index {

struct AnnOptions {
  std::size_t m = 16;                 // links per node (hnswlib's M)
  std::size_t ef_construction = 200;  // candidates while inserting
  std::size_t ef_search = 128;        // candidates while searching (at least top_k)
  std::size_t threads = 0;            // build threads; 0 = all cores
};

class AnnIndex {
 public:
  // Builds the graph over `vectors` ([n, dim], L2-normalised rows; row i gets label i). The
  // vectors are copied into the graph. Throws Error(kInvalidArgument) when the sizes disagree.
  AnnIndex(std::span<const float> vectors, int dim, const AnnOptions& options = {});
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  // The approximate best rows for `query` ([dim]), best first (equal scores in row order), each
  // with its exact dot product; top_k = 0 (every row) is answered by exact_search over
  // `vectors` (the same matrix the graph was built from). Thread-safe: any number of searches
  // at once.
  std::vector<Hit> search(std::span<const float> vectors, std::span<const float> query,
                          const SearchOptions& options = {}) const;

  // Candidates per search from now on (hnswlib keeps one value in the graph): not while
  // searches run.
  void set_ef_search(std::size_t ef);

  std::size_t size() const;
  int dim() const { return dim_; }

 private:
  struct Graph;
  std::unique_ptr<Graph> graph_;
  int dim_ = 0;
  std::size_t ef_search_ = 128;
};

}  // namespace zeroshot::index
