// Byte-level BPE with an end-of-word suffix: the `model` section of CLIP's tokenizer.json
// ({"type": "BPE", "end_of_word_suffix": "</w>", "continuing_subword_prefix": "", ...}).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/flat_map.h"

namespace zeroshot::tokenizer {

using Vocab = TokenTable;

// GPT-2's bytes_to_unicode(): the printable byte ranges '!'..'~', U+00A1..U+00AC and
// U+00AE..U+00FF map to themselves, the other 68 bytes to U+0100.. in byte order. Returns the
// UTF-8 form of each byte's character.
std::array<std::string, 256> byte_level_alphabet();

class BpeModel {
 public:
  // `source` names the model file in error messages. `unk_token` may be empty (none).
  BpeModel(Vocab vocab, std::string end_of_word_suffix, const std::string& unk_token,
           const std::string& source);

  // Registers the next merge rule (ranks follow call order). Returns false and sets `missing`
  // when a part or the merged token is not in the vocabulary (HF refuses such files). A repeated
  // pair takes the later rank, as HF's HashMap collect.
  bool add_merge(std::string_view left, std::string_view right, std::string& missing);
  void reserve_merges(std::size_t n) { merges_.reserve(n); }

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
  const Merge* find_merge(int left, int right) const { return merges_.find(left, right); }

  Vocab vocab_;
  std::string suffix_;
  PairTable<Merge> merges_;             // (left id, right id) -> rank, merged id
  int next_rank_ = 0;                   // rank of the next add_merge call (its index in the file)
  std::array<int, 256> byte_id_{};      // id of each byte's symbol inside a word
  std::array<int, 256> byte_end_id_{};  // id of each byte's symbol + suffix (last of a word)
};

}  // namespace zeroshot::tokenizer
