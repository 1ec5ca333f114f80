#include "batch_runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace zeroshot::cli {
namespace {

// "  37/120 images  12.3/s" on stderr, redrawn in place; only on a terminal.
class ImageProgress {
 public:
  ImageProgress(bool enabled, std::size_t total)
      : enabled_(enabled), total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ImageProgress() {
    if (drawn_) std::fputs("\n", stderr);
  }
  ImageProgress(const ImageProgress&) = delete;
  ImageProgress& operator=(const ImageProgress&) = delete;
  void update(std::size_t done) {
    if (!enabled_) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "\r%zu/%zu images  %.1f/s ", done, total_, s > 0 ? done / s : 0.0);
    std::fflush(stderr);
    drawn_ = true;
  }

 private:
  bool enabled_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

// One input of a batch: decoded, or why not.
struct Item {
  const std::string* path;
  std::optional<Image> image;
  std::optional<Error> error;
};

}  // namespace

std::vector<std::string> pending_inputs(const std::vector<std::string>& args,
                                        const std::optional<Shard>& shard,
                                        const std::optional<Resumed>& resumed, bool quiet) {
  const auto all = expand_inputs(args);
  const auto mine = select_shard(all, shard);
  note_shard(shard, mine.size(), all.size(), quiet);
  std::vector<std::string> todo;
  for (const auto& path : mine)
    if (!resumed || !resumed->has(path)) todo.push_back(path);
  if (resumed && !quiet) {
    std::fprintf(stderr, "zeroshot: resuming %s: %zu of %zu images already there, %zu to do%s\n",
                 resumed->file.c_str(), mine.size() - todo.size(), mine.size(), todo.size(),
                 resumed->torn ? " (a torn last line was cut away)" : "");
  }
  return todo;
}

void run_batch(const std::vector<std::string>& paths, BatchJob& job,
               const BatchRunOptions& options) {
  const std::size_t batch = std::max<std::size_t>(options.batch, 1);
  // Images this output refuses are never decoded.
  std::vector<std::optional<Error>> refused(paths.size());
  std::vector<ImageSource> sources;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    refused[i] = job.refuse(paths[i]);
    if (!refused[i]) sources.push_back(ImageSource::file(paths[i]));
  }
  DecodeAhead decoder({.threads = options.decode_threads, .decode = options.decode});
  auto decoded = decoder.stream(std::move(sources), 2 * batch);
  ImageProgress progress(!options.quiet && ::isatty(STDERR_FILENO) != 0, paths.size());
  std::size_t next = 0;  // the next path to take
  std::size_t failed = 0;
  std::optional<ErrorCode> first_failure;
  std::vector<Item> items;
  std::vector<Image> images;
  while (next < paths.size()) {
    // Take what is decoded (at least one image), up to a batch.
    items.clear();
    while (next < paths.size() && items.size() < batch &&
           (items.empty() || refused[next] || decoded.ready())) {
      Item item{&paths[next], std::nullopt, refused[next]};
      if (!refused[next]) {
        auto d = decoded.next();
        item.image = std::move(d->image);
        item.error = std::move(d->error);
      }
      items.push_back(std::move(item));
      ++next;
    }
    images.clear();
    for (const auto& item : items)
      if (item.image) images.push_back(*item.image);
    std::optional<Error> batch_error;
    try {
      job.compute(images);
    } catch (const Error& e) {
      batch_error = e;
    }
    // Written in input order, so that a resumed run's file is the uninterrupted run's file.
    std::size_t index = 0;
    for (const auto& item : items) {
      const std::optional<Error>& error = item.error ? item.error : batch_error;
      if (error) {
        ++failed;
        if (!first_failure) first_failure = error->code();
        job.write_error(*item.path, *error);
      } else {
        job.write_row(*item.path, index++);
      }
    }
    job.sync();
    progress.update(next);
  }
  if (failed > 0) {
    // Reported like any other failure (exit code 1), after every other image was done.
    throw Error(*first_failure, std::to_string(failed) + " of " + std::to_string(paths.size()) +
                                    " images failed (see their \"error\" lines)");
  }
}

void note_shard(const std::optional<Shard>& shard, std::size_t taken, std::size_t total,
                bool quiet) {
  if (!shard || quiet) return;
  std::fprintf(stderr, "zeroshot: shard %llu/%llu (from %s): %zu of %zu inputs\n",
               static_cast<unsigned long long>(shard->index),
               static_cast<unsigned long long>(shard->count), shard->source.c_str(), taken, total);
}

}  // namespace zeroshot::cli
