// The Split pattern of CLIP's tokenizer.json pre_tokenizer:
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

}  // namespace zeroshot::tokenizer
