// Open-addressing hash tables for the BPE tables. Loading CLIP's 49408 tokens and 48894 merges
// is dominated by cache misses; node-based std::unordered_map costs ~3 misses per lookup (bucket,
// node, key string), these ~1-2 (slot, then the key bytes in one contiguous arena).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zeroshot::tokenizer {

// token string -> id. Keys are stored back to back in one arena; a slot holds everything but the
// key bytes, so a lookup touches one slot and one arena position.
class TokenTable {
 public:
  void reserve(std::size_t n);
  // A repeated token takes the later id (as HF's vocabulary deserialisation into a HashMap).
  void insert_or_assign(std::string_view token, int id);
  // Id of `token`, or -1.
  int find(std::string_view token) const;
  std::size_t size() const { return count_; }

 private:
  struct Slot {
    std::uint32_t offset;  // of the key in arena_
    std::uint32_t length;  // of the key; the slot is empty when id < 0
    int id;
    std::uint32_t tag;  // high bits of the hash, to skip most key comparisons
  };
  static std::uint64_t hash(std::string_view s);
  std::string_view key(const Slot& s) const {
    return std::string_view(arena_).substr(s.offset, s.length);
  }
  std::size_t probe(std::string_view token, std::uint64_t h) const;  // slot of token or empty
  void rehash(std::size_t slot_count);

  std::string arena_;
  std::vector<Slot> slots_;  // size is a power of two, at most half full
  std::size_t count_ = 0;
};

// (left id, right id) -> value, for the merge ranks.
template <typename Value>
class PairTable {
 public:
  void reserve(std::size_t n) {
    std::size_t want = 16;
    while (want < 2 * n) want *= 2;
    if (want > slots_.size()) rehash(want);
  }
  void insert_or_assign(int left, int right, const Value& value) {
    if (2 * (count_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    Slot& s = slots_[probe(key(left, right))];
    if (!s.used) ++count_;
    s = Slot{key(left, right), value, true};
  }
  const Value* find(int left, int right) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[probe(key(left, right))];
    return s.used ? &s.value : nullptr;
  }
  std::size_t size() const { return count_; }

 private:
  struct Slot {
    std::uint64_t key = 0;
    Value value{};
    bool used = false;
  };
  static std::uint64_t key(int left, int right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  std::size_t probe(std::uint64_t k) const {
    const std::size_t mask = slots_.size() - 1;
    // Fibonacci hashing: the multiply spreads the two ids over all bits.
    std::size_t i = static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    while (slots_[i].used && slots_[i].key != k) i = (i + 1) & mask;
    return i;
  }
  void rehash(std::size_t slot_count) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(slot_count, Slot{});
    for (const Slot& s : old) {
      if (s.used) slots_[probe(s.key)] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t count_ = 0;
};

}  // namespace zeroshot::tokenizer
