#include "tokenizer/bpe.h"

#include "tokenizer/unicode.h"

namespace zeroshot::tokenizer {

std::array<std::string, 256> byte_level_alphabet() {
  std::array<std::string, 256> chars;
  char32_t next_extra = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    append_utf8(chars[b], printable ? static_cast<char32_t>(b) : next_extra++);
  }
  return chars;
}

}  // namespace zeroshot::tokenizer
