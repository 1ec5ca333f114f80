// Exact search over an index's vectors: one matrix product (kernels::linear, oneDNN) of the
// stored vectors with the query vectors, then the best rows. Vectors and queries are
// L2-normalised, so a score is the cosine of the two embeddings.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace zeroshot::index {

struct Hit {
  std::size_t row;  // the vector's row in the matrix searched
  float score;      // its dot product with the query: the cosine, for L2-normalised vectors
};

// scores [n, q] = vectors [n, dim] . queries [q, dim]^T, row-major. Rows run in chunks, so the
// scratch stays bounded for any n.
void score_all(std::span<const float> vectors, std::span<const float> queries, int dim,
               float* scores);

struct SearchOptions {
  std::size_t top_k = 10;   // 0 = every row
  float min_score = -1.0f;  // rows scoring below it are left out
};

// The rows of `vectors` ([n, dim]) best matching `query` ([dim]), best first; equal scores in row
// order. Throws Error(kInvalidArgument) when the sizes disagree.
std::vector<Hit> exact_search(std::span<const float> vectors, std::span<const float> query, int dim,
                              const SearchOptions& options = {});

}  // namespace zeroshot::index
