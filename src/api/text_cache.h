// The text embedding cache of a loaded model: a bounded LRU map prompt -> L2-normalised text
// embedding (so the key is (model, prompt)). Ensembles also keep their labels' mean embeddings
// here, under keys no prompt can have (ensemble.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "zeroshot/model.h"

namespace zeroshot::api {

// Thread-safe; lookups copy the embedding out (2 KB for ViT-B/32), so no reference outlives the
// lock. capacity 0 disables it (every get misses without counting).
class TextCache {
 public:
  explicit TextCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<std::vector<float>> get(const std::string& prompt);
  void put(const std::string& prompt, const std::vector<float>& embedding);
  Model::TextCacheStats stats();

 private:
  using Entry = std::pair<std::string, std::vector<float>>;
  std::mutex mutex_;
  std::size_t capacity_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys in entries_
};

}  // namespace zeroshot::api
