#include "tokenizer/flat_map.h"

namespace zeroshot::tokenizer {

std::uint64_t TokenTable::hash(std::string_view s) {
  // FNV-1a, then a final mix so that the low bits (the slot) depend on every byte.
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

std::size_t TokenTable::probe(std::string_view token, std::uint64_t h) const {
  const std::size_t mask = slots_.size() - 1;
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.id < 0) return i;
    if (s.tag == tag && s.length == token.size() && key(s) == token) return i;
  }
}

void TokenTable::rehash(std::size_t slot_count) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(slot_count, Slot{0, 0, -1, 0});
  for (const Slot& s : old) {
    if (s.id >= 0) slots_[probe(key(s), hash(key(s)))] = s;
  }
}

void TokenTable::reserve(std::size_t n) {
  arena_.reserve(n * 8);
  std::size_t want = 16;
  while (want < 2 * n) want *= 2;
  if (want > slots_.size()) rehash(want);
}

void TokenTable::insert_or_assign(std::string_view token, int id) {
  if (2 * (count_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
  const std::uint64_t h = hash(token);
  Slot& s = slots_[probe(token, h)];
  if (s.id < 0) {
    s = Slot{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(token.size()),
             id, static_cast<std::uint32_t>(h >> 32)};
    arena_.append(token);
    ++count_;
  }
  s.id = id;
}

int TokenTable::find(std::string_view token) const {
  if (slots_.empty()) return -1;
  return slots_[probe(token, hash(token))].id;
}

}  // namespace zeroshot::tokenizer
