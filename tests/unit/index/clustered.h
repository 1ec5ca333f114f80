// Clustered synthetic embeddings for approximate-search tests and benchmarks: `clusters` random
// unit centres in `dim` dimensions, each vector a centre plus Gaussian noise (spread `noise` per
// coordinate, about noise * sqrt(dim) in length), L2-normalised. Real embeddings cluster
// (photos of one subject, one event); uniform random vectors in hundreds of dimensions do not,
// and have no meaningful nearest neighbours.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace zeroshot::testing {

struct Clustered {
  std::vector<float> centres;  // [clusters, dim]
  int dim = 0;
  float noise = 0.05f;
  std::mt19937_64 rng;

  Clustered(std::size_t clusters, int dim_, float noise_, std::uint64_t seed)
      : dim(dim_), noise(noise_), rng(seed) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    centres.resize(clusters * static_cast<std::size_t>(dim));
    for (auto& x : centres) x = normal(rng);
    for (std::size_t c = 0; c < clusters; ++c) normalise(centres.data() + c * dim);
  }
  void normalise(float* v) const {
    double s = 0;
    for (int j = 0; j < dim; ++j) s += static_cast<double>(v[j]) * v[j];
    const auto inv = static_cast<float>(1.0 / std::sqrt(s));
    for (int j = 0; j < dim; ++j) v[j] *= inv;
  }
  // n new vectors, rows of [n, dim].
  std::vector<float> draw(std::size_t n) {
    const std::size_t clusters = centres.size() / static_cast<std::size_t>(dim);
    std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
    std::normal_distribution<float> normal(0.0f, noise);
    std::vector<float> out(n * static_cast<std::size_t>(dim));
    for (std::size_t i = 0; i < n; ++i) {
      float* v = out.data() + i * dim;
      const float* c = centres.data() + pick(rng) * dim;
      for (int j = 0; j < dim; ++j) v[j] = c[j] + normal(rng);
      normalise(v);
    }
    return out;
  }
};

}  // namespace zeroshot::testing
