#include "tokenizer/pre_tokenize.h"

#include <array>

#include "tokenizer/unicode.h"

namespace zeroshot::tokenizer {
namespace {

// Length of the contraction ('s|'t|'re|'ve|'m|'ll|'d, in this order) at `pos`, or 0.
std::size_t contraction_length(std::string_view s, std::size_t pos) {
  static constexpr std::array<std::string_view, 7> kContractions = {"'s", "'t",  "'re", "'ve",
                                                                    "'m", "'ll", "'d"};
  if (s[pos] != '\'') return 0;
  for (std::string_view c : kContractions) {
    if (s.substr(pos, c.size()) == c) return c.size();
  }
  return 0;
}

CharClass class_at(std::string_view s, std::size_t pos, std::size_t& next) {
  next = pos;
  return char_class(next_code_point(s, next));
}

// End of the run of characters of class `cls` that starts at `pos`.
std::size_t run_end(std::string_view s, std::size_t pos, CharClass cls) {
  while (pos < s.size()) {
    std::size_t next = 0;
    if (class_at(s, pos, next) != cls) break;
    pos = next;
  }
  return pos;
}

}  // namespace

std::size_t split_pattern_match_end(std::string_view s, std::size_t pos) {
  static constexpr std::array<std::string_view, 2> kSpecials = {"<|startoftext|>", "<|endoftext|>"};
  for (std::string_view sp : kSpecials) {
    if (s.substr(pos, sp.size()) == sp) return pos + sp.size();
  }
  if (std::size_t n = contraction_length(s, pos)) return pos + n;
  std::size_t next = 0;
  switch (class_at(s, pos, next)) {
    case CharClass::kLetter:
      return run_end(s, pos, CharClass::kLetter);  // [\p{L}]+
    case CharClass::kNumber:
      return next;  // [\p{N}]: one digit per piece
    default:
      return run_end(s, pos, CharClass::kOther);  // [^\s\p{L}\p{N}]+
  }
}

}  // namespace zeroshot::tokenizer
