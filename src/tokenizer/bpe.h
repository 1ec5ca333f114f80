// Byte-level BPE with an end-of-word suffix: the `model` section of CLIP's tokenizer.json
// ({"type": "BPE", "end_of_word_suffix": "</w>", "continuing_subword_prefix": "", ...}).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace zeroshot::tokenizer {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using Vocab = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;

// GPT-2's bytes_to_unicode(): the printable byte ranges '!'..'~', U+00A1..U+00AC and
// U+00AE..U+00FF map to themselves, the other 68 bytes to U+0100.. in byte order. Returns the
// UTF-8 form of each byte's character.
std::array<std::string, 256> byte_level_alphabet();

class BpeModel {
 public:
  // `source` names the model file in error messages. `unk_token` may be empty (none).
  BpeModel(Vocab vocab, std::string end_of_word_suffix, const std::string& unk_token,
           const std::string& source);

  // Registers the next merge rule (ranks follow call order). `where` locates it for errors
  // ("merges.txt line 12"). Throws Error(kModelInvalid) when a part or the merged token is
  // missing from the vocabulary. A repeated pair takes the later rank, as HF's HashMap collect.
  void add_merge(std::string_view left, std::string_view right, const std::string& where);

  // Appends the ids of one pre-tokenized word (raw UTF-8 bytes; each byte is one byte-level
  // symbol, the last carrying the end-of-word suffix).
  void encode_word(std::string_view word, std::vector<int>& ids) const;

  // Id of a token, or -1.
  int token_id(std::string_view token) const;
  std::size_t vocab_size() const { return vocab_.size(); }
  std::size_t merge_count() const { return merges_.size(); }

 private:
  struct Merge {
    int rank;
    int new_id;
  };
  static std::uint64_t pair_key(int left, int right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  const Merge* find_merge(int left, int right) const;

  Vocab vocab_;
  std::string suffix_;
  std::unordered_map<std::uint64_t, Merge> merges_;  // (left id, right id) -> rank, merged id
  std::array<int, 256> byte_id_{};                   // id of each byte's symbol inside a word
  std::array<int, 256> byte_end_id_{};  // id of each byte's symbol + suffix (last of a word)
};

}  // namespace zeroshot::tokenizer
