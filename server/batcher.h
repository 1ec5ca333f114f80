// Dynamic batching: images of any number of requests queue here and run through the vision tower
// together, up to max_batch at a time, the first waiting at most max_delay for others to join.
// An image whose request gave up (client gone, deadline passed) is dropped before its pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "metrics.h"
#include "zeroshot/model.h"

namespace zeroshot::server {

// One image's embedding and the pass (batch number) that computed it, for the request log.
struct Embedded {
  std::vector<float> embedding;  // [projection_dim], L2-normalised
  std::uint64_t batch = 0;
};

class Batcher {
 public:
  struct Limits {
    std::size_t max_batch = 8;
    std::chrono::milliseconds max_delay{5};
    std::size_t max_queue = 256;
  };
  Batcher(Model model, Limits limits, Metrics& metrics);
  ~Batcher();  // runs what is queued, then stops
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues all of `images` or none (HttpError 429 queue_full when they do not fit). `abandoned`
  // is asked just before the pass; true drops the image (its future then holds HttpError 499).
  std::vector<std::future<Embedded>> submit(std::vector<Image> images,
                                            std::function<bool()> abandoned);
  std::size_t depth() const;
  // From now on no image waits for company: what is queued runs at once (the server is draining).
  void flush();

 private:
  struct Job {
    Image image;
    std::function<bool()> abandoned;
    std::chrono::steady_clock::time_point queued;
    std::promise<Embedded> result;
  };
  void run();
  std::vector<Job> next_batch();

  Model model_;
  Limits limits_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  bool stop_ = false;
  bool flush_ = false;
  std::uint64_t batches_ = 0;
  std::thread thread_;  // last: started after the members it uses
};

}  // namespace zeroshot::server
