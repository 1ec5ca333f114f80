// The service's Prometheus metrics (GET /metrics, text format 0.0.4). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace zeroshot::server {

// Cumulative buckets (le = upper bounds, +Inf implied), their sum and count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // `name`_bucket{labels,le=...}, `name`_sum, `name`_count lines; `labels` is "" or `a="b"`.
  void write(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // [bounds + 1], not cumulative
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

// What a model contributes at scrape time (read from its batcher and the library).
struct ModelGauges {
  std::string repo;
  std::uint64_t queue_depth = 0;
  std::uint64_t text_cache_hits = 0;
  std::uint64_t text_cache_misses = 0;
  std::uint64_t text_cache_entries = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& route, int status, double seconds);
  // A model pass over `size` images: its batch size and time.
  void batch(std::size_t size, double seconds);
  void queue_wait(double seconds);
  void decode(double seconds);
  // A request or an image refused or dropped, by reason (queue_full, timeout, disconnected, ...).
  void rejected(const std::string& reason);

  std::string prometheus(const std::vector<ModelGauges>& models, bool ready) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;  // (route, status) -> count
  std::map<std::string, Histogram> latency_;                       // route -> seconds
  Histogram batch_size_;
  Histogram model_seconds_;
  Histogram queue_wait_seconds_;
  Histogram decode_seconds_;
  std::map<std::string, std::uint64_t> rejected_;  // reason -> count
};

}  // namespace zeroshot::server
