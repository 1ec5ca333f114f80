// Search at scale (never in CI): exact search (index::exact_search, one GEMM over all vectors)
// against approximate search (index::AnnIndex, an HNSW graph) on clustered synthetic 512-d
// embeddings (tests/unit/index/clustered.h: uniform random vectors would have no near neighbours
// and make any graph index look broken). For each size, in a child process of its own (so that
// its peak RSS is its own): the build time of the graph, the median single-query latency of
// both, recall@10 of the approximate search against exact, and peak RSS (after the vectors:
// what exact search needs; after the graph too) per million vectors.
// Usage: search_bench [--sizes 10000,100000,1000000] [--dim 512] [--queries 200]
//                     [--per-cluster 100] [--noise 0.03] [--ef 64,128,256] [--threads 0]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "index/ann.h"
#include "index/search.h"
#include "unit/index/clustered.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // kB on Linux
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty()      ? 0
         : v.size() % 2 ? v[v.size() / 2]
                        : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}
std::vector<std::size_t> parse_list(const char* s) {
  std::vector<std::size_t> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    out.push_back(std::strtoull(p, &end, 10));
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p) break;
  }
  return out;
}

struct Settings {
  std::vector<std::size_t> sizes = {10000, 100000, 1000000};
  int dim = 512;
  std::size_t queries = 200;
  std::size_t per_cluster = 100;
  float noise = 0.03f;
  std::vector<std::size_t> efs = {64, 128, 256};
  std::size_t threads = 0;
};

void run(std::size_t n, const Settings& s) {
  using namespace zeroshot;
  const auto d = static_cast<std::size_t>(s.dim);
  auto t = Clock::now();
  testing::Clustered data(std::max<std::size_t>(n / s.per_cluster, 1), s.dim, s.noise, 42);
  const auto vectors = data.draw(n);
  const auto queries = data.draw(s.queries);
  const double generate_s = seconds_since(t);
  const double rss_vectors = peak_rss_mb();

  // Exact: each query alone (a search's latency), its top 10 the truth for recall.
  std::vector<std::set<std::size_t>> truth(s.queries);
  std::vector<double> exact_ms;
  for (std::size_t q = 0; q < s.queries; ++q) {
    const std::span<const float> query(queries.data() + q * d, d);
    t = Clock::now();
    const auto hits = index::exact_search(vectors, query, s.dim, {.top_k = 10});
    exact_ms.push_back(seconds_since(t) * 1e3);
    for (const auto& h : hits) truth[q].insert(h.row);
  }
  // The same scores by a plain loop (dot products row by row, one thread): what one query costs
  // without the GEMM library's per-call setup.
  std::vector<double> loop_ms;
  std::vector<float> scores(n);
  for (std::size_t q = 0; q < std::min<std::size_t>(s.queries, 50); ++q) {
    const float* query = queries.data() + q * d;
    t = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      const float* v = vectors.data() + i * d;
      float dot = 0;
      for (std::size_t j = 0; j < d; ++j) dot += v[j] * query[j];
      scores[i] = dot;
    }
    const auto best = std::max_element(scores.begin(), scores.end());
    loop_ms.push_back(seconds_since(t) * 1e3 + (*best > 2 ? 1 : 0));
  }
  t = Clock::now();
  index::AnnIndex ann(vectors, s.dim, {.threads = s.threads});
  const double build_s = seconds_since(t);
  const double rss_all = peak_rss_mb();
  std::printf(
      "n=%zu dim=%d clusters=%zu: generated in %.1f s; exact search median %.3f ms/query (a plain "
      "loop of dot products: %.3f ms); HNSW build %.1f s (%.0f vectors/s)\n",
      n, s.dim, n / s.per_cluster, generate_s, median(exact_ms), median(loop_ms), build_s,
      n / build_s);
  for (const std::size_t ef : s.efs) {
    ann.set_ef_search(ef);
    std::vector<double> ann_ms;
    std::size_t found = 0;
    for (std::size_t q = 0; q < s.queries; ++q) {
      const std::span<const float> query(queries.data() + q * d, d);
      t = Clock::now();
      const auto hits = ann.search(vectors, query, {.top_k = 10});
      ann_ms.push_back(seconds_since(t) * 1e3);
      for (const auto& h : hits) found += truth[q].count(h.row);
    }
    std::printf("  HNSW ef=%zu: median %.3f ms/query (%.0fx below exact), recall@10 %.4f\n", ef,
                median(ann_ms), median(exact_ms) / median(ann_ms),
                static_cast<double>(found) / (10.0 * s.queries));
  }
  std::printf(
      "  peak RSS: %.0f MB with the vectors (exact search), %.0f MB with the graph too: %.0f and "
      "%.0f MB per million vectors (the vectors alone: %.0f MB per million)\n",
      rss_vectors, rss_all, rss_vectors / n * 1e6, rss_all / n * 1e6, d * 4.0 * 1e6 / (1 << 20));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--sizes")
      s.sizes = parse_list(argv[i + 1]);
    else if (flag == "--dim")
      s.dim = std::atoi(argv[i + 1]);
    else if (flag == "--queries")
      s.queries = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--per-cluster")
      s.per_cluster = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--noise")
      s.noise = std::strtof(argv[i + 1], nullptr);
    else if (flag == "--ef")
      s.efs = parse_list(argv[i + 1]);
    else if (flag == "--threads")
      s.threads = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "unknown flag %s (see the usage at the top of bench/search_bench.cc)\n",
                   argv[i]);
      return 2;
    }
  }
  std::FILE* cpu = std::fopen("/proc/loadavg", "r");
  char load[64] = "?";
  if (cpu) {
    if (!std::fgets(load, sizeof load, cpu)) std::strcpy(load, "?");
    std::fclose(cpu);
  }
  std::printf("search_bench: %ld cores, load average %s", sysconf(_SC_NPROCESSORS_ONLN), load);
  std::fflush(stdout);
  for (const std::size_t n : s.sizes) {
    const pid_t pid = fork();
    if (pid == 0) {
      run(n, s);
      std::_Exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::printf("n=%zu: the run failed (status %d)\n", n, status);
      return 1;
    }
  }
  return 0;
}
