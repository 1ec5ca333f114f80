#include "base64.h"

#include <array>
#include <cstdint>

namespace zeroshot::server {
namespace {

// 0-63 for both alphabets (RFC 4648 sections 4 and 5), -1 for anything else.
constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<std::int8_t>(i);
    t['a' + i] = static_cast<std::int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<std::int8_t>(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

std::optional<std::string> decode_base64(std::string_view text, std::string& why) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t bits = 0;
  int held = 0;  // bits held in `bits`
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // Line breaks and spaces are skipped anywhere, as MIME's base64 (RFC 2045) and `base64`
    // without -w0 (lines of 76) write them.
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = kTable[c];
    if (value < 0 || padding > 0) {
      why = "not base64: unexpected character at offset " + std::to_string(i);
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<char>((bits >> held) & 0xff));
    }
  }
  // 6 leftover bits cannot end a byte sequence (one character past a group of four).
  if (held == 6 || padding > 2) {
    why = "not base64: the text ends in the middle of a byte";
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> decode_image_text(std::string_view text, std::string& why) {
  if (text.starts_with("data:")) {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos || !text.substr(0, comma).ends_with(";base64")) {
      why = "a data URL must be data:<type>;base64,<data>";
      return std::nullopt;
    }
    text.remove_prefix(comma + 1);
  }
  auto bytes = decode_base64(text, why);
  if (bytes && bytes->empty()) {  // "", or only padding and spaces
    why = "empty image";
    return std::nullopt;
  }
  return bytes;
}

}  // namespace zeroshot::server
