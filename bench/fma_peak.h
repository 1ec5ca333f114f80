// The CPU's fp32 multiply-add peak as code can reach it: each thread runs 12 independent chains of
// vector FMAs (enough to cover the FMA latency on every x86 core we meet) for a fixed count, the
// widest the CPU has (AVX-512, else AVX2 + FMA). It puts a pass's GFLOP/s in proportion: a ratio
// goal against a peer can ask for more than the arithmetic allows. Bench-only.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace zeroshot::bench {
namespace fma_detail {

constexpr long kIterations = 50'000'000;
constexpr int kChains = 12;

// Returns a value that depends on every chain, so the work cannot be dropped.
__attribute__((target("avx512f"))) inline float chains_avx512(long iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  alignas(64) float lanes[16];  // (not _mm512_reduce_add_ps: GCC 12 warns inside it)
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) {
    _mm512_store_ps(lanes, acc[i]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx2,fma"))) inline float chains_avx2(long iterations) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
  }
  alignas(32) float lanes[8];
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) {
    _mm256_store_ps(lanes, acc[i]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

}  // namespace fma_detail

// GFLOP/s of `threads` threads (the best of 3 tries), 0 when the CPU has neither AVX-512 nor FMA.
inline double fma_peak_gflops(int threads) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0.0;
  const double flops_per_iteration = 2.0 * (avx512 ? 16 : 8) * fma_detail::kChains;
  double best = 0.0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<float> sink(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&sink, t, avx512] {
        sink[static_cast<std::size_t>(t)] = avx512
                                                ? fma_detail::chains_avx512(fma_detail::kIterations)
                                                : fma_detail::chains_avx2(fma_detail::kIterations);
      });
    }
    for (std::thread& w : workers) w.join();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (sink[0] == 0.0f) return 0.0;  // never: keeps the results alive
    best = std::max(best, flops_per_iteration * fma_detail::kIterations * threads / seconds / 1e9);
  }
  return best;
}

}  // namespace zeroshot::bench
