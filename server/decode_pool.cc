#include "decode_pool.h"

#include <chrono>
#include <span>

#include "http_error.h"

namespace zeroshot::server {

DecodePool::DecodePool(std::size_t threads, std::size_t max_waiting, DecodeOptions options,
                       Metrics& metrics)
    : max_waiting_(max_waiting), options_(options), metrics_(metrics) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
    threads_.emplace_back([this] { run(); });
}

DecodePool::~DecodePool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<std::future<Image>> DecodePool::submit(std::vector<std::string> images) {
  std::vector<std::future<Image>> futures;
  std::lock_guard lock(mutex_);
  if (waiting_.size() + images.size() > max_waiting_) {
    throw HttpError(429, "queue_full",
                    "the server is busy: " + std::to_string(waiting_.size()) +
                        " images are waiting to be decoded (limit " + std::to_string(max_waiting_) +
                        "); retry later",
                    1);
  }
  for (auto& bytes : images) {
    waiting_.emplace_back([this, bytes = std::move(bytes)] {
      const auto start = std::chrono::steady_clock::now();
      auto image = Image::from_buffer(
          std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), options_);
      metrics_.decode(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      return image;
    });
    futures.push_back(waiting_.back().get_future());
  }
  changed_.notify_all();
  return futures;
}

void DecodePool::run() {
  for (;;) {
    std::packaged_task<Image()> task;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stop_ || !waiting_.empty(); });
      if (waiting_.empty()) return;
      task = std::move(waiting_.front());
      waiting_.pop_front();
    }
    task();  // a decode error is stored in the future
  }
}

}  // namespace zeroshot::server
