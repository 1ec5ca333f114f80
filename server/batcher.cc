#include "batcher.h"

#include "http_error.h"

namespace zeroshot::server {

Batcher::Batcher(Model model, Limits limits, Metrics& metrics)
    : model_(std::move(model)), limits_(limits), metrics_(metrics), thread_([this] { run(); }) {}

Batcher::~Batcher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

std::vector<std::future<Embedded>> Batcher::submit(std::vector<Image> images,
                                                   std::function<bool()> abandoned) {
  std::vector<std::future<Embedded>> futures;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() + images.size() > limits_.max_queue) {
      throw HttpError(429, "queue_full",
                      "the server is busy: " + std::to_string(queue_.size()) +
                          " images are waiting for the model (limit " +
                          std::to_string(limits_.max_queue) + "); retry later",
                      1);
    }
    const auto now = std::chrono::steady_clock::now();
    for (auto& image : images) {
      queue_.push_back({std::move(image), abandoned, now, {}});
      futures.push_back(queue_.back().result.get_future());
    }
  }
  changed_.notify_all();
  return futures;
}

void Batcher::flush() {
  {
    std::lock_guard lock(mutex_);
    flush_ = true;
  }
  changed_.notify_all();
}

std::size_t Batcher::depth() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

// Waits for a first image, then up to max_delay for the batch to fill (not at all when it is
// already full or the server is draining); drops abandoned images. Empty only when stopping.
std::vector<Batcher::Job> Batcher::next_batch() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return {};
    const auto deadline = queue_.front().queued + limits_.max_delay;
    changed_.wait_until(lock, deadline,
                        [&] { return stop_ || flush_ || queue_.size() >= limits_.max_batch; });
    std::vector<Job> batch;
    while (!queue_.empty() && batch.size() < limits_.max_batch) {
      Job job = std::move(queue_.front());
      queue_.pop_front();
      if (job.abandoned && job.abandoned()) {
        metrics_.rejected("abandoned");
        job.result.set_exception(std::make_exception_ptr(
            HttpError(499, "abandoned", "the request was abandoned before its model pass")));
        continue;
      }
      batch.push_back(std::move(job));
    }
    if (!batch.empty()) return batch;
  }
}

void Batcher::run() {
  for (;;) {
    std::vector<Job> batch = next_batch();
    if (batch.empty()) return;
    const auto start = std::chrono::steady_clock::now();
    std::vector<Image> images;
    images.reserve(batch.size());
    for (const auto& job : batch) {
      metrics_.queue_wait(std::chrono::duration<double>(start - job.queued).count());
      images.push_back(job.image);
    }
    const std::uint64_t number = ++batches_;
    try {
      auto embeddings = model_.embed_images(images);
      metrics_.batch(
          batch.size(),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      for (std::size_t i = 0; i < batch.size(); ++i)
        batch[i].result.set_value({std::move(embeddings[i]), number});
    } catch (...) {
      for (auto& job : batch) job.result.set_exception(std::current_exception());
    }
  }
}

}  // namespace zeroshot::server
