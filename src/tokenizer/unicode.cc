#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

[[noreturn]] void throw_bad_utf8(std::string_view text, std::size_t offset, const char* why) {
  char byte[8];
  std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[offset]));
  throw Error(ErrorCode::kInvalidArgument, "text is not valid UTF-8: " + std::string(why) +
                                               " (byte " + byte + ") at byte offset " +
                                               std::to_string(offset));
}

}  // namespace

void check_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      throw_bad_utf8(text, i, b < 0xC0 ? "unexpected continuation byte" : "invalid lead byte");
    }
    if (n - i < len) throw_bad_utf8(text, i, "truncated multi-byte sequence");
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) throw_bad_utf8(text, i + k, "expected a continuation byte");
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min) throw_bad_utf8(text, i, "overlong encoding");
    if (cp >= 0xD800 && cp <= 0xDFFF) throw_bad_utf8(text, i, "encoded surrogate");
    if (cp > 0x10FFFF) throw_bad_utf8(text, i, "code point above U+10FFFF");
    i += len;
  }
}

char32_t next_code_point(std::string_view text, std::size_t& pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char b = s[pos];
  if (b < 0x80) {
    ++pos;
    return b;
  }
  const std::size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  char32_t cp = b & (0x7F >> len);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (s[pos + k] & 0x3F);
  pos += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

CharClass char_class(char32_t cp) {
  if (cp < 0x80) {  // fast path; same answers as the general one below
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kSpace;
    return CharClass::kOther;
  }
  // Oniguruma's \s: White_Space = U+0009..U+000D, U+0085 and Zs/Zl/Zp (utf8proc categories).
  if (cp == 0x85) return CharClass::kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    default:
      return CharClass::kOther;
  }
}

std::string normalize_nfc_lowercase(std::string_view text) {
  // ASCII is its own NFC form: skip utf8proc's allocation for most prompts.
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  std::string_view nfc = text;
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> nfc_owner(nullptr, &std::free);
  if (!ascii) {
    // NFC, as utf8proc_NFC but with an explicit length (the text may contain NUL).
    utf8proc_uint8_t* nfc_raw = nullptr;
    const utf8proc_ssize_t nfc_len =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                     static_cast<utf8proc_ssize_t>(text.size()), &nfc_raw,
                     static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (nfc_len < 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("text cannot be NFC-normalised: ") + utf8proc_errmsg(nfc_len));
    }
    nfc_owner.reset(nfc_raw);
    nfc =
        std::string_view(reinterpret_cast<const char*>(nfc_raw), static_cast<std::size_t>(nfc_len));
  }

  std::string out;
  out.reserve(nfc.size() + 8);
  bool in_space = false;
  for (std::size_t pos = 0; pos < nfc.size();) {
    const char32_t cp = next_code_point(nfc, pos);
    if (char_class(cp) == CharClass::kSpace) {
      // Replace(Regex "\s+", " "): a whitespace run becomes one space.
      if (!in_space) out.push_back(' ');
      in_space = true;
      continue;
    }
    in_space = false;
    if (cp == 0x0130) {
      // Rust's char::to_lowercase: U+0130 has the unconditional SpecialCasing mapping "i\u0307",
      // the only code point whose lowercase is longer than one character.
      append_utf8(out, U'i');
      append_utf8(out, 0x0307);
      continue;
    }
    append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
  }
  return out;
}

}  // namespace zeroshot::tokenizer
