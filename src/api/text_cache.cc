#include "api/text_cache.h"

namespace zeroshot::api {

std::optional<std::vector<float>> TextCache::get(const std::string& prompt) {
  if (capacity_ == 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto it = index_.find(prompt);
  if (it == index_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  entries_.splice(entries_.begin(), entries_, it->second);  // now the most recent
  return it->second->second;
}

Model::TextCacheStats TextCache::stats() {
  std::lock_guard lock(mutex_);
  return {hits_, misses_, entries_.size()};
}

void TextCache::put(const std::string& prompt, const std::vector<float>& embedding) {
  if (capacity_ == 0) return;
  std::lock_guard lock(mutex_);
  if (const auto it = index_.find(prompt); it != index_.end()) {
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  entries_.emplace_front(prompt, embedding);
  index_.emplace(entries_.front().first, entries_.begin());
  if (entries_.size() > capacity_) {
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
}

}  // namespace zeroshot::api
