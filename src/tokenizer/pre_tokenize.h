// The `pre_tokenizer` of CLIP's tokenizer.json:
//   Sequence[Split(pattern, behavior=Removed, invert=true), ByteLevel(use_regex=true)]
// with pattern
//   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (case-sensitive, as HF compiles it; the text is already lowercased). "Removed + invert" keeps
// the matches and drops what lies between them (whitespace only, since every other character
// starts some alternative), so leading, trailing and inner whitespace never reaches the BPE.
// ByteLevel then splits each piece again with GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// which only changes the literal pieces "<|endoftext|>" / "<|startoftext|>" (e.g. from the
// text "<|ENDOFTEXT|>"): they become "<|", "endoftext", "|>".
#pragma once

#include <cstddef>
#include <string_view>

namespace zeroshot::tokenizer {

// One match of the Split pattern above at `pos` (a non-space character of valid UTF-8); returns
// its end.
std::size_t split_pattern_match_end(std::string_view s, std::size_t pos);

// Yields the pre-tokenized words of a normalised (valid UTF-8) text, in order, as views into it.
// The byte-level mapping of ByteLevel is implicit: a word's bytes are its byte-level symbols.
class WordSplitter {
 public:
  explicit WordSplitter(std::string_view text) : text_(text) {}
  // Stores the next word and returns true, or returns false at the end.
  bool next(std::string_view& word);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;        // scan position of the CLIP split in text_
  std::string_view piece_;     // current CLIP piece, being split by the GPT-2 pattern
  std::size_t piece_pos_ = 0;  // scan position in piece_
};

}  // namespace zeroshot::tokenizer
