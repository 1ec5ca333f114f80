// DecodeAhead: a pool of decode threads with a FIFO of waiting images (packaged tasks), and
// ordered streams over it that keep a bounded number of images queued.
#include "zeroshot/decode_ahead.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace zeroshot {

struct DecodeAhead::State {
  DecodeAheadOptions options;
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::packaged_task<Image()>> waiting;
  bool stop = false;
  std::vector<std::thread> threads;

  void run() {
    for (;;) {
      std::packaged_task<Image()> task;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return stop || !waiting.empty(); });
        if (stop) return;
        task = std::move(waiting.front());
        waiting.pop_front();
      }
      task();  // a decode error is stored in the future
    }
  }
};

std::vector<ImageSource> ImageSource::files(std::span<const std::string> paths) {
  std::vector<ImageSource> sources;
  sources.reserve(paths.size());
  for (const auto& path : paths) sources.push_back(file(path));
  return sources;
}

DecodeAhead::DecodeAhead(DecodeAheadOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  const std::size_t n = std::max<std::size_t>(state_->options.threads, 1);
  for (std::size_t i = 0; i < n; ++i)
    state_->threads.emplace_back([s = state_.get()] { s->run(); });
}

DecodeAhead::~DecodeAhead() {
  std::deque<std::packaged_task<Image()>> dropped;
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
    dropped.swap(state_->waiting);
  }
  state_->changed.notify_all();
  for (auto& t : state_->threads) t.join();
  // `dropped` goes here: its futures report broken_promise.
}

std::future<Image> DecodeAhead::enqueue(ImageSource source, const DecodeOptions& decode) {
  // Called with state_->mutex held.
  const State* s = state_.get();
  state_->waiting.emplace_back([s, decode, source = std::move(source)] {
    const auto start = std::chrono::steady_clock::now();
    const auto report = [&] {
      if (s->options.on_decoded) {
        s->options.on_decoded(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    };
    try {
      Image image = source.kind == ImageSource::Kind::kFile
                        ? Image::from_file(source.value, decode)
                        : Image::from_buffer(
                              std::span(reinterpret_cast<const std::byte*>(source.value.data()),
                                        source.value.size()),
                              decode);
      report();
      return image;
    } catch (const Error&) {
      report();
      throw;
    } catch (const std::exception& e) {
      report();
      throw Error(ErrorCode::kInternal, e.what());
    }
  });
  return state_->waiting.back().get_future();
}

std::optional<std::vector<std::future<Image>>> DecodeAhead::submit(
    std::vector<ImageSource> sources) {
  return submit(std::move(sources), state_->options.decode);
}

std::optional<std::vector<std::future<Image>>> DecodeAhead::submit(std::vector<ImageSource> sources,
                                                                   const DecodeOptions& decode) {
  std::vector<std::future<Image>> futures;
  {
    std::lock_guard lock(state_->mutex);
    const std::size_t limit = state_->options.max_waiting;
    if (limit > 0 && state_->waiting.size() + sources.size() > limit) return std::nullopt;
    futures.reserve(sources.size());
    for (auto& source : sources) futures.push_back(enqueue(std::move(source), decode));
  }
  state_->changed.notify_all();
  return futures;
}

std::size_t DecodeAhead::waiting() const {
  std::lock_guard lock(state_->mutex);
  return state_->waiting.size();
}

DecodeAhead::Stream DecodeAhead::stream(std::vector<ImageSource> sources, std::size_t ahead) {
  return Stream(*this, std::move(sources), ahead);
}

DecodeAhead::Stream::Stream(DecodeAhead& owner, std::vector<ImageSource> sources, std::size_t ahead)
    : owner_(&owner), sources_(std::move(sources)), ahead_(std::max<std::size_t>(ahead, 1)) {
  top_up();
}

void DecodeAhead::Stream::top_up() {
  if (pending_.size() >= ahead_ || queued_ >= sources_.size()) return;
  {
    std::lock_guard lock(owner_->state_->mutex);
    while (pending_.size() < ahead_ && queued_ < sources_.size())
      pending_.push_back(
          owner_->enqueue(std::move(sources_[queued_++]), owner_->state_->options.decode));
  }
  owner_->state_->changed.notify_all();
}

std::optional<DecodedImage> DecodeAhead::Stream::next() {
  if (pending_.empty()) return std::nullopt;
  std::future<Image> front = std::move(pending_.front());
  pending_.pop_front();
  top_up();  // the next one starts while this one is waited for
  DecodedImage out;
  out.index = taken_++;
  try {
    out.image = front.get();
  } catch (const Error& e) {
    out.error = e;
  } catch (const std::exception& e) {
    out.error = Error(ErrorCode::kInternal, e.what());
  }
  return out;
}

bool DecodeAhead::Stream::ready() const {
  return pending_.empty() ||
         pending_.front().wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace zeroshot
