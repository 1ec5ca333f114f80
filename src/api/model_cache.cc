// The process-wide model cache (cached_model) and the convenience functions over it.
#include <future>
#include <map>
#include <mutex>

#include "zeroshot/model.h"

namespace zeroshot {

Model cached_model(const Options& options) {
  // One load per (repo, revision) for the whole process; concurrent first callers wait on the
  // same load instead of starting their own. A failed load is not cached, so a retry can succeed.
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, std::shared_future<Model>> cache;
  const auto key = std::make_pair(options.repo, options.revision);
  std::promise<Model> promise;
  std::shared_future<Model> future;
  bool owner = false;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      cache.emplace(key, future);
      owner = true;
    }
  }
  if (!owner) return future.get();  // loaded, or being loaded by another thread
  try {
    auto model = Model::load({.repo = options.repo, .revision = options.revision});
    promise.set_value(model);
  } catch (...) {
    {
      std::lock_guard lock(mutex);
      cache.erase(key);
    }
    promise.set_exception(std::current_exception());
  }
  return future.get();
}

namespace {

ClassifyOptions classify_options(const Options& options) {
  return {.prompt_template = options.prompt_template,
          .templates = options.templates,
          .top_k = options.top_k};
}

}  // namespace

std::vector<LabelScore> classify(const Image& image, std::span<const std::string> labels,
                                 const Options& options) {
  return cached_model(options).classify(image, labels, classify_options(options));
}

std::string label(const Image& image, std::span<const std::string> labels, const Options& options) {
  return cached_model(options).label(image, labels, classify_options(options));
}

float similarity(const Image& a, const Image& b, const Options& options) {
  return cached_model(options).similarity(a, b);
}

}  // namespace zeroshot
