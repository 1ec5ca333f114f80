#include "metrics.h"

#include <cstdio>

namespace zeroshot::server {
namespace {

// Seconds, from 1 ms to 30 s: a tiny model's pass to a queue at its limit.
const std::vector<double> kSeconds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25,  0.5,    1,     2.5,  5,     10,   30};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + sep + "le=\"" + le + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + braces + " " + number(sum_) + "\n";
  out += name + "_count" + braces + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : batch_size_({1, 2, 4, 8, 16, 32, 64}),
      model_seconds_(kSeconds),
      queue_wait_seconds_(kSeconds),
      decode_seconds_(kSeconds) {}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  latency_.try_emplace(route, kSeconds).first->second.observe(seconds);
}

void Metrics::batch(std::size_t size, double seconds) {
  std::lock_guard lock(mutex_);
  batch_size_.observe(static_cast<double>(size));
  model_seconds_.observe(seconds);
}

void Metrics::queue_wait(double seconds) {
  std::lock_guard lock(mutex_);
  queue_wait_seconds_.observe(seconds);
}

void Metrics::decode(double seconds) {
  std::lock_guard lock(mutex_);
  decode_seconds_.observe(seconds);
}

void Metrics::rejected(const std::string& reason) {
  std::lock_guard lock(mutex_);
  ++rejected_[reason];
}

std::string Metrics::prometheus(const std::vector<ModelGauges>& models, bool ready) const {
  std::lock_guard lock(mutex_);
  std::string out;
  header(out, "zeroshot_ready", "gauge", "1 once every model is loaded and warmed up");
  out += std::string("zeroshot_ready ") + (ready ? "1" : "0") + "\n";
  header(out, "zeroshot_requests_total", "counter", "HTTP requests by route and status");
  for (const auto& [key, count] : requests_) {
    out += "zeroshot_requests_total{route=\"" + escape_label(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "zeroshot_request_seconds", "histogram", "HTTP request latency by route");
  for (const auto& [route, histogram] : latency_)
    histogram.write(out, "zeroshot_request_seconds", "route=\"" + escape_label(route) + "\"");
  header(out, "zeroshot_batch_size", "histogram", "Images per vision-tower pass");
  batch_size_.write(out, "zeroshot_batch_size", "");
  header(out, "zeroshot_model_seconds", "histogram", "Time of a vision-tower pass");
  model_seconds_.write(out, "zeroshot_model_seconds", "");
  header(out, "zeroshot_queue_wait_seconds", "histogram",
         "Time an image waited in the queue before its pass");
  queue_wait_seconds_.write(out, "zeroshot_queue_wait_seconds", "");
  header(out, "zeroshot_decode_seconds", "histogram", "Time to decode one image");
  decode_seconds_.write(out, "zeroshot_decode_seconds", "");
  header(out, "zeroshot_rejected_total", "counter",
         "Requests refused or images dropped, by reason");
  for (const auto& [reason, count] : rejected_) {
    out += "zeroshot_rejected_total{reason=\"" + escape_label(reason) + "\"} " +
           std::to_string(count) + "\n";
  }
  // One sample per model of each gauge or counter the models report.
  const auto per_model = [&](const char* name, const char* type, const char* help,
                             std::uint64_t ModelGauges::*value) {
    header(out, name, type, help);
    for (const auto& m : models) {
      out += std::string(name) + "{model=\"" + escape_label(m.repo) + "\"} " +
             std::to_string(m.*value) + "\n";
    }
  };
  per_model("zeroshot_queue_depth", "gauge", "Images waiting for a model pass",
            &ModelGauges::queue_depth);
  per_model("zeroshot_text_cache_hits_total", "counter", "Text embedding cache hits",
            &ModelGauges::text_cache_hits);
  per_model("zeroshot_text_cache_misses_total", "counter", "Text embedding cache misses",
            &ModelGauges::text_cache_misses);
  per_model("zeroshot_text_cache_entries", "gauge", "Text embeddings held in the cache",
            &ModelGauges::text_cache_entries);
  return out;
}

}  // namespace zeroshot::server
