// A bounded pool of threads decoding request images, so that decoding (libvips) runs outside the
// model passes and at most `threads` images decode at once whatever the number of clients.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "metrics.h"
#include "zeroshot/image.h"

namespace zeroshot::server {

class DecodePool {
 public:
  // At most `max_waiting` images wait for a thread; more are refused (429).
  DecodePool(std::size_t threads, std::size_t max_waiting, DecodeOptions options, Metrics& metrics);
  ~DecodePool();  // finishes what is queued
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  // The decoded image, or its zeroshot::Error. Takes all of `images` or none: throws HttpError
  // 429 queue_full when they do not fit.
  std::vector<std::future<Image>> submit(std::vector<std::string> images);

 private:
  void run();

  std::size_t max_waiting_;
  DecodeOptions options_;
  Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::packaged_task<Image()>> waiting_;
  bool stop_ = false;
  std::vector<std::thread> threads_;  // last: started after the members they use
};

}  // namespace zeroshot::server
