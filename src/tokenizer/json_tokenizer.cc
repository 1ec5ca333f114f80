#include "tokenizer/json_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/json_load.h"
#include "tokenizer/pre_tokenize.h"
#include "tokenizer/unicode.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, source + ": " + what);
}

[[noreturn]] void unsupported(const std::string& source, const std::string& where,
                              const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, source + ": " + where + " " + what +
                                            " is not supported by this tokenizer.json engine (see "
                                            "src/tokenizer/json_tokenizer.h for what is)");
}

// ---- Unicode, as Rust's char methods (data from utf8proc) ----

std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) out.push_back(next_code_point(s, pos));
  return out;
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  for (const char32_t c : s) append_utf8(out, c);
  return out;
}

utf8proc_category_t category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

bool is_whitespace(char32_t c) { return char_class(c) == CharClass::kSpace; }  // White_Space

bool is_letter(char32_t c) {
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}
bool is_mark(char32_t c) {
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME;
}
bool is_numeric(char32_t c) {  // Rust char::is_numeric: Nd | Nl | No
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}
bool is_punctuation(char32_t c) {  // P*
  const auto k = category(c);
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}
// Rust's is_alphanumeric (Alphabetic || Numeric); Alphabetic approximated as L*, Nl and marks.
bool is_alphanumeric(char32_t c) { return is_letter(c) || is_numeric(c) || is_mark(c); }

void append_lower(std::u32string& out, char32_t c) {  // Rust char::to_lowercase
  if (c == 0x130) {
    out.push_back('i');
    out.push_back(0x307);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

std::string unicode_form(std::string_view s, int options) {
  bool ascii = true;
  for (const char c : s) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return std::string(s);
  utf8proc_uint8_t* raw = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()),
      &raw, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | options));
  if (n < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("text cannot be normalised: ") + utf8proc_errmsg(n));
  }
  std::string out(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(n));
  std::free(raw);
  return out;
}

bool is_chinese_char(char32_t c) {  // BertNormalizer's CJK ranges
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// ---- JSON helpers ----

std::string str_field(const json& o, const char* key, const std::string& fallback,
                      const std::string& source, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return fallback;
  if (!it->is_string()) invalid(source, where + "." + key + " must be a string");
  return it->get<std::string>();
}

bool bool_field(const json& o, const char* key, bool fallback, const std::string& source,
                const std::string& where) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) invalid(source, where + "." + key + " must be true or false");
  return it->get<bool>();
}

int id_value(const json& v, const std::string& source, const std::string& where) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
      v.get<std::int64_t>() > std::numeric_limits<int>::max()) {
    invalid(source, where + " must be a non-negative integer id, got " + v.dump());
  }
  return v.get<int>();
}

// Lengths a file may set (truncation, padding): real files use at most a few thousand; beyond
// this bound a file is corrupt or hostile and would only make us allocate absurd amounts.
constexpr int kMaxLength = 1 << 20;
// Nesting of Sequence components.
constexpr std::size_t kMaxDepth = 32;

int length_value(const json& v, const std::string& source, const std::string& where) {
  const int n = id_value(v, source, where);
  if (n > kMaxLength) invalid(source, where + " " + std::to_string(n) + " is too large");
  return n;
}

void check_depth(const std::string& where, const std::string& source) {
  if (static_cast<std::size_t>(std::count(where.begin(), where.end(), '[')) > kMaxDepth)
    invalid(source, where + ": Sequence nested too deeply");
}

std::string type_of(const json& o, const std::string& source, const std::string& where) {
  check_depth(where, source);
  if (!o.is_object()) invalid(source, where + " must be an object");
  return str_field(o, "type", "", source, where);
}

// ---- Normalizers ----

using Normalizer = std::function<std::string(std::string)>;

Normalizer make_normalizer(const json& n, const std::string& source, const std::string& where) {
  const std::string type = type_of(n, source, where);
  if (type == "Sequence") {
    std::vector<Normalizer> parts;
    const auto& list = n.at("normalizers");
    if (!list.is_array()) invalid(source, where + ".normalizers must be an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      parts.push_back(
          make_normalizer(list[i], source, where + ".normalizers[" + std::to_string(i) + "]"));
    return [parts](std::string s) {
      for (const auto& p : parts) s = p(std::move(s));
      return s;
    };
  }
  if (type == "NFC") return [](std::string s) { return unicode_form(s, UTF8PROC_COMPOSE); };
  if (type == "NFD") return [](std::string s) { return unicode_form(s, UTF8PROC_DECOMPOSE); };
  if (type == "NFKC")
    return [](std::string s) { return unicode_form(s, UTF8PROC_COMPOSE | UTF8PROC_COMPAT); };
  if (type == "NFKD")
    return [](std::string s) { return unicode_form(s, UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT); };
  if (type == "Lowercase") {
    return [](std::string s) {
      std::u32string out;
      for (const char32_t c : decode(s)) append_lower(out, c);
      return encode_utf8(out);
    };
  }
  if (type == "Strip") {
    const bool left = bool_field(n, "strip_left", false, source, where);
    const bool right = bool_field(n, "strip_right", false, source, where);
    return [left, right](std::string s) {
      std::u32string c = decode(s);
      std::size_t b = 0;
      std::size_t e = c.size();
      if (left)
        while (b < e && is_whitespace(c[b])) ++b;
      if (right)
        while (e > b && is_whitespace(c[e - 1])) --e;
      return encode_utf8(std::u32string_view(c).substr(b, e - b));
    };
  }
  if (type == "StripAccents") {
    return [](std::string s) {
      std::u32string out;
      for (const char32_t c : decode(s))
        if (!is_mark(c)) out.push_back(c);
      return encode_utf8(out);
    };
  }
  if (type == "Prepend") {
    const std::string prepend = str_field(n, "prepend", "", source, where);
    return [prepend](std::string s) { return s.empty() ? s : prepend + s; };
  }
  if (type == "Replace") {
    const auto& pattern = n.at("pattern");
    const std::string content = str_field(n, "content", "", source, where);
    if (pattern.contains("String")) {
      const std::string from = pattern["String"].get<std::string>();
      if (from.empty()) invalid(source, where + ".pattern.String is empty");
      return [from, content](std::string s) {
        std::string out;
        std::size_t pos = 0;
        for (std::size_t at; (at = s.find(from, pos)) != std::string::npos; pos = at + from.size())
          out.append(s, pos, at - pos).append(content);
        return out.append(s, pos, std::string::npos);
      };
    }
    const std::string regex = pattern.contains("Regex") && pattern["Regex"].is_string()
                                  ? pattern["Regex"].get<std::string>()
                                  : std::string();
    // Regexes of released files, without a regex engine, without a regex engine: "\s+" (CLIP) and "
    // {2,}" (T5).
    if (regex == "\\s+" || regex == " {2,}") {
      const bool any_space = regex == "\\s+";
      return [any_space, content](std::string s) {
        const std::u32string c = decode(s);
        std::string out;
        for (std::size_t i = 0; i < c.size();) {
          auto matches = [&](char32_t ch) { return any_space ? is_whitespace(ch) : ch == U' '; };
          std::size_t j = i;
          while (j < c.size() && matches(c[j])) ++j;
          if (j - i >= (any_space ? 1u : 2u)) {
            out += content;
            i = j;
          } else if (j > i) {
            out += encode_utf8(std::u32string_view(c).substr(i, j - i));
            i = j;
          } else {
            append_utf8(out, c[i]);
            ++i;
          }
        }
        return out;
      };
    }
    unsupported(source, where, "Replace with the pattern " + pattern.dump());
  }
  if (type == "BertNormalizer") {
    const bool clean = bool_field(n, "clean_text", true, source, where);
    const bool chinese = bool_field(n, "handle_chinese_chars", true, source, where);
    const bool lowercase = bool_field(n, "lowercase", true, source, where);
    const bool strip = bool_field(n, "strip_accents", lowercase, source, where);
    return [=](std::string s) {
      std::u32string c = decode(s);
      if (clean) {
        std::u32string out;
        for (const char32_t ch : c) {
          const auto k = category(ch);
          // HF's is_control: Cc, Cf, Co (not unassigned code points).
          const bool control =
              ch != '\t' && ch != '\n' && ch != '\r' &&
              (k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CO);
          if (ch == 0 || ch == 0xFFFD || control) continue;
          const bool ws = ch == '\t' || ch == '\n' || ch == '\r' || k == UTF8PROC_CATEGORY_ZS;
          out.push_back(ws ? U' ' : ch);
        }
        c = std::move(out);
      }
      if (chinese) {
        std::u32string out;
        for (const char32_t ch : c) {
          if (is_chinese_char(ch)) {
            out.push_back(' ');
            out.push_back(ch);
            out.push_back(' ');
          } else {
            out.push_back(ch);
          }
        }
        c = std::move(out);
      }
      if (strip) {
        std::u32string out;
        for (const char32_t ch : decode(unicode_form(encode_utf8(c), UTF8PROC_DECOMPOSE)))
          if (category(ch) != UTF8PROC_CATEGORY_MN) out.push_back(ch);
        c = std::move(out);
      }
      if (lowercase) {
        std::u32string out;
        for (const char32_t ch : c) append_lower(out, ch);
        c = std::move(out);
      }
      return encode_utf8(c);
    };
  }
  unsupported(source, where, "normalizer type \"" + type + "\"");
}

// ---- Pre-tokenizers ----

struct Piece {
  std::string text;
  bool at_start;  // begins at offset 0 of the original text (Metaspace's prepend_scheme "first")
};
using PreTokenizer = std::function<void(std::vector<Piece>&)>;

// HF's SplitDelimiterBehavior over spans of code points marked as matches.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior parse_behavior(const std::string& b, const std::string& source, const std::string& where) {
  if (b == "Removed") return Behavior::kRemoved;
  if (b == "Isolated") return Behavior::kIsolated;
  if (b == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return Behavior::kMergedWithNext;
  if (b == "Contiguous") return Behavior::kContiguous;
  invalid(source, where + ".behavior \"" + b + "\" is not a split behavior");
}

struct Span {
  std::size_t begin;
  std::size_t end;
  bool match;
};

// Spans (alternating text and matches, every byte covered) -> pieces, per `behavior`.
void apply_behavior(const std::string& text, std::vector<Span> spans, Behavior behavior,
                    bool at_start, std::vector<Piece>& out) {
  std::vector<std::pair<std::size_t, std::size_t>> kept;
  switch (behavior) {
    case Behavior::kRemoved:
      for (const Span& s : spans)
        if (!s.match) kept.emplace_back(s.begin, s.end);
      break;
    case Behavior::kIsolated:
      for (const Span& s : spans) kept.emplace_back(s.begin, s.end);
      break;
    case Behavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.match && !previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.match;
      }
      break;
    }
    case Behavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->match && !previous_match && !kept.empty()) {
          kept.back().first = it->begin;
        } else {
          kept.emplace_back(it->begin, it->end);
        }
        previous_match = it->match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case Behavior::kContiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.match == previous_match && !kept.empty()) {
          kept.back().second = s.end;
        } else {
          kept.emplace_back(s.begin, s.end);
        }
        previous_match = s.match;
      }
      break;
    }
  }
  for (const auto& [b, e] : kept) {
    if (e > b) out.push_back({text.substr(b, e - b), at_start && b == 0});
  }
}

// Spans where each code point satisfying `pred` is its own match.
std::vector<Span> char_spans(const std::string& text, const std::function<bool(char32_t)>& pred) {
  std::vector<Span> spans;
  std::size_t run = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t at = pos;
    const char32_t c = next_code_point(text, pos);
    if (pred(c)) {
      if (at > run) spans.push_back({run, at, false});
      spans.push_back({at, pos, true});
      run = pos;
    }
  }
  if (run < text.size()) spans.push_back({run, text.size(), false});
  return spans;
}

// Spans of a list of (begin, end) matches.
std::vector<Span> match_spans(const std::string& text,
                              const std::vector<std::pair<std::size_t, std::size_t>>& matches,
                              bool invert) {
  std::vector<Span> spans;
  std::size_t pos = 0;
  for (const auto& [b, e] : matches) {
    if (b > pos) spans.push_back({pos, b, invert});
    if (e > b) spans.push_back({b, e, !invert});
    pos = e;
  }
  if (pos < text.size()) spans.push_back({pos, text.size(), invert});
  return spans;
}

void for_each_piece(std::vector<Piece>& pieces,
                    const std::function<void(const Piece&, std::vector<Piece>&)>& split) {
  std::vector<Piece> out;
  for (const Piece& p : pieces) split(p, out);
  pieces = std::move(out);
}

// GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::pair<std::size_t, std::size_t>> gpt2_matches(const std::string& text) {
  const std::u32string c = decode(text);
  std::vector<std::size_t> byte_at(c.size() + 1, 0);
  for (std::size_t i = 0, b = 0; i < c.size(); ++i) {
    byte_at[i] = b;
    std::string tmp;
    append_utf8(tmp, c[i]);
    b += tmp.size();
    byte_at[i + 1] = b;
  }
  auto cls = [&](std::size_t i) { return char_class(c[i]); };
  std::vector<std::pair<std::size_t, std::size_t>> out;
  static constexpr std::array<std::u32string_view, 7> kContractions = {
      U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  for (std::size_t i = 0; i < c.size();) {
    std::size_t end = i;
    for (const auto k : kContractions) {
      if (std::u32string_view(c).substr(i, k.size()) == k) {
        end = i + k.size();
        break;
      }
    }
    if (end == i) {
      std::size_t start = i;
      if (c[i] == U' ' && i + 1 < c.size() && cls(i + 1) != CharClass::kSpace) start = i + 1;
      const CharClass k = cls(start);
      if (k != CharClass::kSpace) {
        end = start;
        while (end < c.size() && cls(end) == k) ++end;
      } else {
        std::size_t j = i;
        while (j < c.size() && cls(j) == CharClass::kSpace) ++j;
        end = (j == c.size() || j - i == 1) ? j : j - 1;
      }
    }
    out.emplace_back(byte_at[i], byte_at[end]);
    i = end;
  }
  return out;
}

const std::array<std::string, 256>& alphabet() {
  static const std::array<std::string, 256> a = byte_level_alphabet();
  return a;
}

PreTokenizer make_pre_tokenizer(const json& p, const std::string& source,
                                const std::string& where) {
  const std::string type = type_of(p, source, where);
  if (type == "Sequence") {
    std::vector<PreTokenizer> parts;
    const auto& list = p.at("pretokenizers");
    if (!list.is_array()) invalid(source, where + ".pretokenizers must be an array");
    for (std::size_t i = 0; i < list.size(); ++i)
      parts.push_back(
          make_pre_tokenizer(list[i], source, where + ".pretokenizers[" + std::to_string(i) + "]"));
    return [parts](std::vector<Piece>& pieces) {
      for (const auto& part : parts) part(pieces);
    };
  }
  if (type == "ByteLevel") {
    const bool prefix = bool_field(p, "add_prefix_space", true, source, where);
    const bool regex = bool_field(p, "use_regex", true, source, where);
    return [prefix, regex](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [&](const Piece& piece, std::vector<Piece>& out) {
        std::string text = piece.text;
        if (prefix && (text.empty() || text[0] != ' ')) text.insert(text.begin(), ' ');
        std::vector<Piece> words;
        if (regex) {
          apply_behavior(text, match_spans(text, gpt2_matches(text), false), Behavior::kIsolated,
                         piece.at_start, words);
        } else {
          words.push_back({text, piece.at_start});
        }
        for (Piece& w : words) {
          std::string mapped;
          for (const char b : w.text) mapped += alphabet()[static_cast<unsigned char>(b)];
          out.push_back({std::move(mapped), w.at_start});
        }
      });
    };
  }
  if (type == "Whitespace") {  // \w+|[^\w\s]+
    return [](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [](const Piece& piece, std::vector<Piece>& out) {
        auto word = [](char32_t c) {
          const auto k = category(c);
          return is_letter(c) || is_mark(c) || k == UTF8PROC_CATEGORY_ND ||
                 k == UTF8PROC_CATEGORY_PC;
        };
        std::vector<std::pair<std::size_t, std::size_t>> matches;
        int current = -1;  // 0 word run, 1 other run
        std::size_t begin = 0;
        for (std::size_t pos = 0; pos < piece.text.size();) {
          const std::size_t at = pos;
          const char32_t c = next_code_point(piece.text, pos);
          const int kind = is_whitespace(c) ? -1 : word(c) ? 0 : 1;
          if (kind != current) {
            if (current >= 0) matches.emplace_back(begin, at);
            begin = at;
            current = kind;
          }
        }
        if (current >= 0) matches.emplace_back(begin, piece.text.size());
        apply_behavior(piece.text, match_spans(piece.text, matches, true), Behavior::kRemoved,
                       piece.at_start, out);
      });
    };
  }
  if (type == "WhitespaceSplit") {
    return [](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [](const Piece& piece, std::vector<Piece>& out) {
        apply_behavior(piece.text, char_spans(piece.text, is_whitespace), Behavior::kRemoved,
                       piece.at_start, out);
      });
    };
  }
  if (type == "CharDelimiterSplit") {
    const std::u32string d = decode(str_field(p, "delimiter", "", source, where));
    if (d.size() != 1) invalid(source, where + ".delimiter must be one character");
    const char32_t delim = d[0];
    return [delim](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [delim](const Piece& piece, std::vector<Piece>& out) {
        apply_behavior(piece.text,
                       char_spans(piece.text, [delim](char32_t c) { return c == delim; }),
                       Behavior::kRemoved, piece.at_start, out);
      });
    };
  }
  if (type == "BertPreTokenizer") {
    return [](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [](const Piece& piece, std::vector<Piece>& out) {
        std::vector<Piece> words;
        apply_behavior(piece.text, char_spans(piece.text, is_whitespace), Behavior::kRemoved,
                       piece.at_start, words);
        for (const Piece& w : words) {
          auto punct = [](char32_t c) {
            return (c < 0x80 && c > 0x20 && c != 0x7F && !std::isalnum(static_cast<int>(c))) ||
                   is_punctuation(c);
          };
          apply_behavior(w.text, char_spans(w.text, punct), Behavior::kIsolated, w.at_start, out);
        }
      });
    };
  }
  if (type == "Punctuation") {
    const Behavior b =
        parse_behavior(str_field(p, "behavior", "Isolated", source, where), source, where);
    return [b](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [b](const Piece& piece, std::vector<Piece>& out) {
        auto punct = [](char32_t c) {
          return (c < 0x80 && c > 0x20 && c != 0x7F && !std::isalnum(static_cast<int>(c))) ||
                 is_punctuation(c);
        };
        apply_behavior(piece.text, char_spans(piece.text, punct), b, piece.at_start, out);
      });
    };
  }
  if (type == "Digits") {
    const bool individual = bool_field(p, "individual_digits", false, source, where);
    return [individual](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [individual](const Piece& piece, std::vector<Piece>& out) {
        apply_behavior(piece.text, char_spans(piece.text, is_numeric),
                       individual ? Behavior::kIsolated : Behavior::kContiguous, piece.at_start,
                       out);
      });
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = str_field(p, "replacement", "\u2581", source, where);
    if (decode(replacement).size() != 1)
      invalid(source, where + ".replacement must be one character");
    std::string scheme = str_field(p, "prepend_scheme", "", source, where);
    if (scheme.empty())
      scheme = bool_field(p, "add_prefix_space", true, source, where) ? "always" : "never";
    if (scheme != "always" && scheme != "first" && scheme != "never")
      invalid(source, where + ".prepend_scheme \"" + scheme + "\" is not always/first/never");
    const bool split = bool_field(p, "split", true, source, where);
    const char32_t rep = decode(replacement)[0];
    return [=](std::vector<Piece>& pieces) {
      for_each_piece(pieces, [&](const Piece& piece, std::vector<Piece>& out) {
        std::string text;
        for (std::size_t pos = 0; pos < piece.text.size();) {
          const char32_t c = next_code_point(piece.text, pos);
          if (c == U' ') {
            text += replacement;
          } else {
            append_utf8(text, c);
          }
        }
        const bool starts = text.compare(0, replacement.size(), replacement) == 0;
        if (!starts && (scheme == "always" || (scheme == "first" && piece.at_start)))
          text = replacement + text;
        if (split) {
          apply_behavior(text, char_spans(text, [rep](char32_t c) { return c == rep; }),
                         Behavior::kMergedWithNext, piece.at_start, out);
        } else {
          out.push_back({text, piece.at_start});
        }
      });
    };
  }
  if (type == "Split") {
    const auto& pattern = p.at("pattern");
    const Behavior b = parse_behavior(str_field(p, "behavior", "", source, where), source, where);
    const bool invert = bool_field(p, "invert", false, source, where);
    if (pattern.contains("String") && pattern["String"].is_string()) {
      const std::string lit = pattern["String"].get<std::string>();
      return [lit, b, invert](std::vector<Piece>& pieces) {
        for_each_piece(pieces, [&](const Piece& piece, std::vector<Piece>& out) {
          std::vector<std::pair<std::size_t, std::size_t>> matches;
          if (!lit.empty()) {
            for (std::size_t at = 0; (at = piece.text.find(lit, at)) != std::string::npos;
                 at += lit.size())
              matches.emplace_back(at, at + lit.size());
          }
          apply_behavior(piece.text, match_spans(piece.text, matches, invert), b, piece.at_start,
                         out);
        });
      };
    }
    const std::string regex = pattern.contains("Regex") && pattern["Regex"].is_string()
                                  ? pattern["Regex"].get<std::string>()
                                  : std::string();
    static const std::string kWordPattern =
        "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{"
        "L}\\p{N}]+";
    if (regex == kWordPattern) {
      return [b, invert](std::vector<Piece>& pieces) {
        for_each_piece(pieces, [&](const Piece& piece, std::vector<Piece>& out) {
          std::vector<std::pair<std::size_t, std::size_t>> matches;
          for (std::size_t pos = 0; pos < piece.text.size();) {
            std::size_t next = pos;
            if (char_class(next_code_point(piece.text, next)) == CharClass::kSpace) {
              pos = next;
              continue;
            }
            const std::size_t end = split_pattern_match_end(piece.text, pos);
            matches.emplace_back(pos, end);
            pos = end;
          }
          apply_behavior(piece.text, match_spans(piece.text, matches, invert), b, piece.at_start,
                         out);
        });
      };
    }
    unsupported(source, where, "Split with the pattern " + pattern.dump());
  }
  unsupported(source, where, "pre_tokenizer type \"" + type + "\"");
}

// ---- Models ----

struct Model {
  virtual ~Model() = default;
  virtual void tokenize(const std::string& word, std::vector<int>& ids) const = 0;
  virtual int token_to_id(std::string_view token) const = 0;
};

std::string byte_piece(unsigned char b) {  // "<0x41>", as format!("<{:#04X}>") / "<0x{:02X}>"
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">";
}

class BpeGeneral final : public Model {
 public:
  BpeGeneral(TokenizerJson& parsed, const json& m, const std::string& source)
      : vocab_(std::move(parsed.vocab)) {
    const std::string where = "model";
    if (m.contains("dropout") && !m["dropout"].is_null() && m["dropout"].get<double>() != 0.0)
      unsupported(source, where, "BPE dropout (not deterministic)");
    prefix_ = str_field(m, "continuing_subword_prefix", "", source, where);
    suffix_ = str_field(m, "end_of_word_suffix", "", source, where);
    fuse_unk_ = bool_field(m, "fuse_unk", false, source, where);
    byte_fallback_ = bool_field(m, "byte_fallback", false, source, where);
    ignore_merges_ = bool_field(m, "ignore_merges", false, source, where);
    const std::string unk = str_field(m, "unk_token", "", source, where);
    if (!unk.empty()) {
      unk_id_ = vocab_.find(unk);
      if (unk_id_ < 0) invalid(source, "model.unk_token \"" + unk + "\" is not in the vocabulary");
    }
    merges_.reserve(parsed.merges.size());
    int rank = 0;
    for (std::size_t i = 0; i < parsed.merges.size(); ++i) {
      const auto& [a, b] = parsed.merges[i];
      const int left = vocab_.find(a);
      const int right = vocab_.find(b);
      std::string merged = a;
      // The merged token drops the right part's continuing_subword_prefix (HF's BPE builder).
      merged += !prefix_.empty() && b.starts_with(prefix_) ? b.substr(prefix_.size()) : b;
      const int id = vocab_.find(merged);
      if (left < 0 || right < 0 || id < 0) {
        const std::string& missing = left < 0 ? a : right < 0 ? b : merged;
        invalid(source, "model.merges[" + std::to_string(i) + "]: merge '" + a + " " + b +
                            "' uses token '" + missing + "' that is not in the vocabulary");
      }
      merges_.insert_or_assign(left, right, Merge{rank++, id});
    }
  }

  int token_to_id(std::string_view token) const override {
    const int id = vocab_.find(token);
    return id;
  }

  void tokenize(const std::string& word, std::vector<int>& ids) const override {
    if (word.empty()) return;
    if (ignore_merges_) {
      const int id = vocab_.find(word);
      if (id >= 0) {
        ids.push_back(id);
        return;
      }
    }
    std::vector<int> symbols;
    int unk_pending = -1;
    for (std::size_t pos = 0; pos < word.size();) {
      const std::size_t at = pos;
      next_code_point(word, pos);
      std::string s = word.substr(at, pos - at);
      if (at > 0 && !prefix_.empty()) s = prefix_ + s;
      if (pos == word.size() && !suffix_.empty()) s += suffix_;
      const int id = vocab_.find(s);
      if (id >= 0) {
        if (unk_pending >= 0) symbols.push_back(unk_pending);
        unk_pending = -1;
        symbols.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        std::vector<int> bytes;
        for (const char b : s) {
          const int bid = vocab_.find(byte_piece(static_cast<unsigned char>(b)));
          if (bid < 0) break;
          bytes.push_back(bid);
        }
        if (bytes.size() == s.size()) {
          // As HF: byte pieces are added without flushing a pending unknown token first.
          symbols.insert(symbols.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (unk_id_ >= 0) {
        if (unk_pending >= 0 && !fuse_unk_) symbols.push_back(unk_pending);
        unk_pending = unk_id_;
      }
    }
    if (unk_pending >= 0) symbols.push_back(unk_pending);
    merge_all(symbols, ids);
  }

 private:
  struct Merge {
    int rank;
    int new_id;
  };

  // HF's Word::merge_all: lowest rank first, leftmost among equal ranks.
  void merge_all(const std::vector<int>& start, std::vector<int>& ids) const {
    const std::size_t n = start.size();
    struct Symbol {
      int id;
      int prev;
      int next;
      bool alive;
    };
    std::vector<Symbol> sym(n);
    for (std::size_t i = 0; i < n; ++i)
      sym[i] = {start[i], static_cast<int>(i) - 1, i + 1 == n ? -1 : static_cast<int>(i) + 1, true};
    struct Candidate {
      int rank;
      int pos;
      int new_id;
    };
    auto later = [](const Candidate& a, const Candidate& b) {
      return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
    };
    std::vector<Candidate> heap;
    auto push = [&](int pos) {
      const int next = sym[static_cast<std::size_t>(pos)].next;
      if (next < 0) return;
      if (const Merge* m = merges_.find(sym[static_cast<std::size_t>(pos)].id,
                                        sym[static_cast<std::size_t>(next)].id)) {
        heap.push_back({m->rank, pos, m->new_id});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    };
    for (std::size_t i = 0; i + 1 < n; ++i) push(static_cast<int>(i));
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const Candidate top = heap.back();
      heap.pop_back();
      Symbol& left = sym[static_cast<std::size_t>(top.pos)];
      if (!left.alive || left.next < 0) continue;
      Symbol& right = sym[static_cast<std::size_t>(left.next)];
      const Merge* current = merges_.find(left.id, right.id);
      if (current == nullptr || current->new_id != top.new_id) continue;
      left.id = top.new_id;
      right.alive = false;
      left.next = right.next;
      if (left.next >= 0) sym[static_cast<std::size_t>(left.next)].prev = top.pos;
      if (left.prev >= 0) push(left.prev);
      push(top.pos);
    }
    for (int pos = n == 0 ? -1 : 0; pos >= 0; pos = sym[static_cast<std::size_t>(pos)].next)
      ids.push_back(sym[static_cast<std::size_t>(pos)].id);
  }

  Vocab vocab_;
  PairTable<Merge> merges_;
  std::string prefix_;
  std::string suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int unk_id_ = -1;
};

class WordPiece final : public Model {
 public:
  WordPiece(TokenizerJson& parsed, const json& m, const std::string& source)
      : vocab_(std::move(parsed.vocab)) {
    prefix_ = str_field(m, "continuing_subword_prefix", "##", source, "model");
    const std::string unk = str_field(m, "unk_token", "[UNK]", source, "model");
    unk_id_ = vocab_.find(unk);
    if (unk_id_ < 0) invalid(source, "model.unk_token \"" + unk + "\" is not in the vocabulary");
    if (m.contains("max_input_chars_per_word") && !m["max_input_chars_per_word"].is_null())
      max_chars_ =
          id_value(m["max_input_chars_per_word"], source, "model.max_input_chars_per_word");
  }
  int token_to_id(std::string_view token) const override { return vocab_.find(token); }
  void tokenize(const std::string& word, std::vector<int>& ids) const override {
    if (decode(word).size() > static_cast<std::size_t>(max_chars_)) {
      ids.push_back(unk_id_);
      return;
    }
    std::vector<int> sub;
    for (std::size_t start = 0; start < word.size();) {
      std::size_t end = word.size();
      int found = -1;
      while (start < end) {
        std::string s = word.substr(start, end - start);
        if (start > 0) s = prefix_ + s;
        found = vocab_.find(s);
        if (found >= 0) break;
        // Back off by the last character.
        std::size_t last = end - 1;
        while (last > start && (static_cast<unsigned char>(word[last]) & 0xC0) == 0x80) --last;
        end = last;
      }
      if (found < 0) {
        ids.push_back(unk_id_);
        return;
      }
      sub.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), sub.begin(), sub.end());
  }

 private:
  Vocab vocab_;
  std::string prefix_;
  int unk_id_ = -1;
  int max_chars_ = 100;
};

class Unigram final : public Model {
 public:
  Unigram(const json& m, const std::string& source) {
    const auto& v = m.at("vocab");
    if (!v.is_array()) invalid(source, "model.vocab of a Unigram must be an array");
    pieces_.reserve(v.size());
    double min_score = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        invalid(source, "model.vocab[" + std::to_string(i) + "] must be [piece, score]");
      const std::string piece = e[0].get<std::string>();
      const double score = e[1].get<double>();
      pieces_.push_back({piece, score});
      ids_.insert_or_assign(piece, static_cast<int>(i));  // a repeated piece: the later id (HF)
      for (std::size_t len = 1; len <= piece.size(); ++len)
        prefixes_.insert_or_assign(std::string_view(piece).substr(0, len), 0);
      min_score = std::min(min_score, score);
    }
    unk_score_ = min_score - 10.0;
    if (m.contains("unk_id") && !m["unk_id"].is_null()) {
      unk_id_ = id_value(m["unk_id"], source, "model.unk_id");
      if (static_cast<std::size_t>(unk_id_) >= pieces_.size())
        invalid(source, "model.unk_id is not an id of model.vocab");
    }
    byte_fallback_ = bool_field(m, "byte_fallback", false, source, "model");
  }
  int token_to_id(std::string_view token) const override { return ids_.find(token); }
  void tokenize(const std::string& s, std::vector<int>& ids) const override {
    if (s.empty()) return;
    const std::size_t n = s.size();
    struct Node {
      int id = -1;
      double score = 0;
      long starts_at = -1;
    };
    std::vector<Node> best(n + 1);
    for (std::size_t start = 0; start < n;) {
      const double here = best[start].score;
      std::size_t next = start;
      next_code_point(s, next);
      const std::size_t mblen = next - start;
      bool single = false;
      // The trie's common-prefix search: every piece that starts here, shortest first.
      for (std::size_t len = 1; start + len <= n; ++len) {
        const std::string_view prefix = std::string_view(s).substr(start, len);
        if (prefixes_.find(prefix) < 0) break;
        const int id = ids_.find(prefix);
        if (id < 0) continue;
        Node& target = best[start + len];
        const double candidate = pieces_[static_cast<std::size_t>(id)].score + here;
        if (target.starts_at < 0 || candidate > target.score) {
          target = {id, candidate, static_cast<long>(start)};
        }
        if (len == mblen) single = true;
      }
      if (!single) {
        if (unk_id_ < 0)
          throw Error(ErrorCode::kInvalidArgument,
                      "the Unigram model has no unk_id and cannot encode the text");
        Node& target = best[start + mblen];
        const double candidate = unk_score_ + here;
        if (target.starts_at < 0 || candidate > target.score) {
          target = {unk_id_, candidate, static_cast<long>(start)};
        }
      }
      start = next;
    }
    // Back from the end; consecutive unknown pieces are fused into one string.
    std::vector<std::string> strings;
    std::vector<std::string> unk_parts;
    for (std::size_t end = n; end > 0;) {
      const Node& node = best[end];
      const auto start = static_cast<std::size_t>(node.starts_at);
      if (unk_id_ >= 0 && node.id == unk_id_) {
        unk_parts.push_back(s.substr(start, end - start));
      } else {
        if (!unk_parts.empty()) {
          std::string fused;
          for (auto it = unk_parts.rbegin(); it != unk_parts.rend(); ++it) fused += *it;
          strings.push_back(std::move(fused));
          unk_parts.clear();
        }
        strings.push_back(s.substr(start, end - start));
      }
      end = start;
    }
    if (!unk_parts.empty()) {
      std::string fused;
      for (auto it = unk_parts.rbegin(); it != unk_parts.rend(); ++it) fused += *it;
      strings.push_back(std::move(fused));
    }
    std::reverse(strings.begin(), strings.end());
    for (const std::string& str : strings) {
      if (const int id = ids_.find(str); id >= 0) {
        ids.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        std::vector<int> bytes;
        for (const char b : str) {
          const int bid = ids_.find(byte_piece(static_cast<unsigned char>(b)));
          if (bid < 0) break;
          bytes.push_back(bid);
        }
        if (bytes.size() == str.size()) {
          ids.insert(ids.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      ids.push_back(unk_id_);
    }
  }

 private:
  struct Entry {
    std::string piece;
    double score;
  };
  std::vector<Entry> pieces_;
  TokenTable ids_;
  TokenTable prefixes_;  // every prefix of a piece (the trie's paths)
  double unk_score_ = 0;
  int unk_id_ = -1;
  bool byte_fallback_ = false;
};

// ---- Added tokens (HF's AddedVocabulary) ----

struct Added {
  std::string content;
  int id;
  bool single_word;
  bool lstrip;
  bool rstrip;
  bool normalized;
  bool special;
};

// Leftmost-longest, non-overlapping matches of `tokens` in `s` (as the aho-corasick crate's
// LeftmostLongest), with single_word / lstrip / rstrip applied, as split_with_indices.
struct Match {
  std::size_t begin;
  std::size_t end;
  int id;
};

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t pos = s.size() - 1;
  while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
  std::size_t p = pos;
  return is_alphanumeric(next_code_point(s, p));
}
bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  std::size_t p = 0;
  return is_alphanumeric(next_code_point(s, p));
}

std::vector<Match> find_added(std::string_view s, const std::vector<const Added*>& tokens) {
  std::vector<Match> out;
  std::size_t start_offset = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t best = std::string_view::npos;
    const Added* found = nullptr;
    for (const Added* t : tokens) {
      const std::size_t at = s.find(t->content, pos);
      if (at == std::string_view::npos) continue;
      if (at < best || (at == best && t->content.size() > found->content.size())) {
        best = at;
        found = t;
      }
    }
    if (found == nullptr) break;
    std::size_t begin = best;
    std::size_t end = best + found->content.size();
    pos = end;
    if (found->single_word) {
      const bool start_space = begin == 0 || !ends_with_word(s.substr(0, begin));
      const bool stop_space = end == s.size() || !starts_with_word(s.substr(end));
      if (!start_space || !stop_space) continue;
    }
    if (found->lstrip) {
      std::size_t b = begin;
      while (b > 0) {
        std::size_t cp = b - 1;
        while (cp > 0 && (static_cast<unsigned char>(s[cp]) & 0xC0) == 0x80) --cp;
        std::size_t tmp = cp;
        if (!is_whitespace(next_code_point(s, tmp))) break;
        b = cp;
      }
      begin = std::max(b, start_offset);
    }
    if (found->rstrip) {
      while (end < s.size()) {
        std::size_t tmp = end;
        if (!is_whitespace(next_code_point(s, tmp))) break;
        end = tmp;
      }
    }
    start_offset = end;
    pos = end;
    out.push_back({begin, end, found->id});
  }
  return out;
}

// ---- Post-processing ----

struct Template {
  std::vector<int> before;  // special ids before the sequence (single)
  std::vector<int> after;   // and after it
};

}  // namespace

struct JsonTokenizer::Impl {
  std::vector<Added> added;
  std::vector<const Added*> raw_tokens;  // matched on the raw text
  std::vector<Added> normalized_tokens;  // content normalised, matched after normalizing
  std::vector<const Added*> normalized_ptrs;
  std::optional<Normalizer> normalizer;
  std::optional<PreTokenizer> pre_tokenizer;
  Template single;
  int truncation = -1;  // max_length, or -1
  bool truncate_left = false;
  int pad_length = -1;  // Fixed length, or -1 (none / BatchLongest)
  bool pad = false;
  int pad_id = 0;
  bool pad_left = false;
  int pad_multiple = 0;

  std::shared_ptr<const Model> shared_model;  // the model, shared between configured copies

  void index_tokens() {
    raw_tokens.clear();
    normalized_ptrs.clear();
    for (const Added& a : added)
      if (!a.normalized) raw_tokens.push_back(&a);
    for (const Added& a : normalized_tokens) normalized_ptrs.push_back(&a);
  }
  const Model& m() const { return *shared_model; }
};

JsonTokenizer JsonTokenizer::from_json(std::string_view json_text, const std::string& source) {
  return from_parsed(parse_tokenizer_json(json_text, source), source);
}

JsonTokenizer JsonTokenizer::from_parsed(TokenizerJson parsed, const std::string& source) {
  try {
    const json& root = parsed.rest;
    if (!root.is_object()) invalid(source, "expected a JSON object");
    if (!root.contains("model") || !root["model"].is_object())
      invalid(source, "missing object \"model\"");
    auto impl = std::make_shared<Impl>();
    const json& m = root["model"];
    std::string model_type = str_field(m, "type", "", source, "model");
    if (model_type.empty()) {
      // Older files omit the type: BPE has merges, Unigram an array vocab, WordPiece neither.
      model_type = parsed.has_merges                              ? "BPE"
                   : m.contains("vocab") && m["vocab"].is_array() ? "Unigram"
                                                                  : "WordPiece";
    }
    if (model_type == "BPE") {
      if (!parsed.has_vocab) invalid(source, "missing object model.vocab");
      impl->shared_model = std::make_shared<BpeGeneral>(parsed, m, source);
    } else if (model_type == "WordPiece") {
      if (!parsed.has_vocab) invalid(source, "missing object model.vocab");
      impl->shared_model = std::make_shared<WordPiece>(parsed, m, source);
    } else if (model_type == "Unigram") {
      impl->shared_model = std::make_shared<Unigram>(m, source);
    } else {
      unsupported(source, "model", "type \"" + model_type + "\"");
    }
    if (root.contains("normalizer") && !root["normalizer"].is_null())
      impl->normalizer = make_normalizer(root["normalizer"], source, "normalizer");
    if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null())
      impl->pre_tokenizer = make_pre_tokenizer(root["pre_tokenizer"], source, "pre_tokenizer");

    if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
      const json& list = root["added_tokens"];
      if (!list.is_array()) invalid(source, "added_tokens must be an array");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const json& t = list[i];
        const std::string where = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
            !t.contains("id"))
          invalid(source, where + " needs a string \"content\" and an \"id\"");
        Added a;
        a.content = t["content"].get<std::string>();
        check_utf8(a.content);
        a.id = id_value(t["id"], source, where + ".id");
        a.special = bool_field(t, "special", false, source, where);
        a.single_word = bool_field(t, "single_word", false, source, where);
        a.lstrip = bool_field(t, "lstrip", false, source, where);
        a.rstrip = bool_field(t, "rstrip", false, source, where);
        a.normalized = bool_field(t, "normalized", !a.special, source, where);
        if (a.content.empty()) continue;
        impl->added.push_back(a);
        if (a.normalized) {
          Added n = a;
          if (impl->normalizer) n.content = (*impl->normalizer)(n.content);
          if (!n.content.empty()) impl->normalized_tokens.push_back(std::move(n));
        }
      }
    }

    auto token_id = [&](const std::string& token) {
      for (const Added& a : impl->added)
        if (a.content == token) return a.id;
      return impl->shared_model->token_to_id(token);
    };
    if (root.contains("post_processor") && !root["post_processor"].is_null()) {
      std::function<void(const json&, const std::string&)> add_post =
          [&](const json& p, const std::string& where) {
            const std::string type = type_of(p, source, where);
            auto pair_id = [&](const char* key) {
              const json& v = p.at(key);
              if (!v.is_array() || v.size() != 2)
                invalid(source, where + "." + key + " must be [token, id]");
              return id_value(v[1], source, where + "." + key + "[1]");
            };
            if (type == "ByteLevel") return;
            if (type == "Sequence") {
              const json& list = p.at("processors");
              for (std::size_t i = 0; i < list.size(); ++i)
                add_post(list[i], where + ".processors[" + std::to_string(i) + "]");
              return;
            }
            if (type == "BertProcessing" || type == "RobertaProcessing") {
              impl->single.before.push_back(pair_id("cls"));
              impl->single.after.push_back(pair_id("sep"));
              return;
            }
            if (type == "TemplateProcessing") {
              const json& single = p.at("single");
              const json& specials = p.at("special_tokens");
              bool seen_a = false;
              for (const json& piece : single) {
                if (piece.contains("Sequence")) {
                  const std::string id = piece["Sequence"].at("id").get<std::string>();
                  if (id != "A") invalid(source, where + ".single uses sequence " + id);
                  seen_a = true;
                } else if (piece.contains("SpecialToken")) {
                  const std::string name = piece["SpecialToken"].at("id").get<std::string>();
                  if (!specials.contains(name))
                    invalid(source, where + ".special_tokens has no \"" + name + "\"");
                  for (const json& id : specials[name].at("ids")) {
                    (seen_a ? impl->single.after : impl->single.before)
                        .push_back(id_value(id, source, where + ".special_tokens." + name));
                  }
                } else {
                  invalid(source, where + ".single has an unknown piece " + piece.dump());
                }
              }
              return;
            }
            unsupported(source, where, "post_processor type \"" + type + "\"");
          };
      add_post(root["post_processor"], "post_processor");
    }
    (void)token_id;

    if (root.contains("truncation") && !root["truncation"].is_null()) {
      const json& t = root["truncation"];
      impl->truncation = length_value(t.at("max_length"), source, "truncation.max_length");
      const std::string dir = str_field(t, "direction", "Right", source, "truncation");
      if (dir != "Right" && dir != "Left")
        invalid(source, "truncation.direction \"" + dir + "\" is not Right/Left");
      impl->truncate_left = dir == "Left";
    }
    if (root.contains("padding") && !root["padding"].is_null()) {
      const json& p = root["padding"];
      impl->pad = true;
      const json& strategy = p.at("strategy");
      if (strategy.is_object() && strategy.contains("Fixed")) {
        impl->pad_length = length_value(strategy["Fixed"], source, "padding.strategy.Fixed");
      } else if (!(strategy.is_string() && strategy.get<std::string>() == "BatchLongest")) {
        invalid(source, "padding.strategy must be \"BatchLongest\" or {\"Fixed\": n}");
      }
      impl->pad_id = p.contains("pad_id") ? id_value(p["pad_id"], source, "padding.pad_id") : 0;
      impl->pad_left = str_field(p, "direction", "Right", source, "padding") == "Left";
      if (p.contains("pad_to_multiple_of") && !p["pad_to_multiple_of"].is_null())
        impl->pad_multiple =
            length_value(p["pad_to_multiple_of"], source, "padding.pad_to_multiple_of");
    }
    impl->index_tokens();
    return JsonTokenizer(std::move(impl));
  } catch (const nlohmann::json::exception& e) {
    invalid(source, std::string("malformed tokenizer.json: ") + e.what());
  }
}

namespace {

std::vector<int> encode_impl(const JsonTokenizer::Impl& impl, std::string_view text,
                             bool add_special_tokens, int truncation, bool truncate_left,
                             bool pad) {
  check_utf8(text);
  std::vector<int> ids;
  const std::size_t added =
      add_special_tokens ? impl.single.before.size() + impl.single.after.size() : 0;
  // With right truncation, once `limit` ids exist the rest of the text cannot change them.
  const std::size_t limit = truncation < 0 ? std::numeric_limits<std::size_t>::max()
                            : static_cast<std::size_t>(truncation) > added
                                ? static_cast<std::size_t>(truncation) - added
                                : 0;
  auto full = [&] { return !truncate_left && ids.size() >= limit; };
  auto run_model = [&](std::string normalized, bool at_start) {
    std::vector<Piece> pieces;
    if (normalized.empty() || full()) return;
    pieces.push_back({std::move(normalized), at_start});
    if (impl.pre_tokenizer) (*impl.pre_tokenizer)(pieces);
    for (const Piece& p : pieces) {
      if (full()) break;
      impl.m().tokenize(p.text, ids);
    }
  };
  // 1. non-normalized added tokens on the raw text; 2. normalizer on each piece between them,
  // then the normalized added tokens on its result.
  std::size_t pos = 0;
  auto text_piece = [&](std::string_view raw, bool at_start) {
    if (raw.empty() || full()) return;
    std::string normalized =
        impl.normalizer ? (*impl.normalizer)(std::string(raw)) : std::string(raw);
    std::size_t npos = 0;
    bool piece_start = at_start;
    for (const Match& mt : find_added(normalized, impl.normalized_ptrs)) {
      run_model(normalized.substr(npos, mt.begin - npos), piece_start && npos == 0);
      ids.push_back(mt.id);
      npos = mt.end;
    }
    run_model(normalized.substr(npos), piece_start && npos == 0);
  };
  for (const Match& mt : find_added(text, impl.raw_tokens)) {
    text_piece(text.substr(pos, mt.begin - pos), pos == 0);
    ids.push_back(mt.id);
    pos = mt.end;
  }
  text_piece(text.substr(pos), pos == 0);

  // Truncation, leaving room for the post-processor's tokens.
  if (truncation >= 0 && ids.size() > limit) {
    if (truncate_left) {
      ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(limit));
    } else {
      ids.resize(limit);
    }
  }
  if (add_special_tokens) {
    ids.insert(ids.begin(), impl.single.before.begin(), impl.single.before.end());
    ids.insert(ids.end(), impl.single.after.begin(), impl.single.after.end());
  }
  if (pad && impl.pad) {
    std::size_t target =
        impl.pad_length >= 0 ? static_cast<std::size_t>(impl.pad_length) : ids.size();
    if (impl.pad_multiple > 0 && target % static_cast<std::size_t>(impl.pad_multiple) != 0)
      target += impl.pad_multiple - target % static_cast<std::size_t>(impl.pad_multiple);
    if (ids.size() < target) {
      if (impl.pad_left) {
        ids.insert(ids.begin(), target - ids.size(), impl.pad_id);
      } else {
        ids.resize(target, impl.pad_id);
      }
    }
  }
  return ids;
}

}  // namespace

std::vector<int> JsonTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  return encode_impl(*impl_, text, add_special_tokens, impl_->truncation, impl_->truncate_left,
                     true);
}

std::vector<int> JsonTokenizer::encode_truncated(std::string_view text, int max_length) const {
  if (max_length < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "max_length must not be negative, got " + std::to_string(max_length));
  }
  return encode_impl(*impl_, text, true, max_length, false, false);
}

JsonTokenizer JsonTokenizer::with_truncation(int max_length) const {
  if (max_length < 0 || max_length > kMaxLength) {
    throw Error(ErrorCode::kInvalidArgument, "tokenizer length " + std::to_string(max_length) +
                                                 " is outside 0.." + std::to_string(kMaxLength));
  }
  auto copy = std::make_shared<Impl>(*impl_);
  copy->shared_model = impl_->shared_model;
  copy->truncation = max_length;
  copy->truncate_left = false;
  copy->index_tokens();
  return JsonTokenizer(std::move(copy));
}

JsonTokenizer JsonTokenizer::with_padding(int length, int pad_id) const {
  if (length < 0 || length > kMaxLength || pad_id < 0) {
    throw Error(ErrorCode::kInvalidArgument, "tokenizer length " + std::to_string(length) +
                                                 " is outside 0.." + std::to_string(kMaxLength));
  }
  auto copy = std::make_shared<Impl>(*impl_);
  copy->shared_model = impl_->shared_model;
  copy->pad = true;
  copy->pad_length = length;
  copy->pad_id = pad_id;
  copy->pad_left = false;
  copy->pad_multiple = 0;
  copy->index_tokens();
  return JsonTokenizer(std::move(copy));
}

std::optional<int> JsonTokenizer::token_to_id(std::string_view token) const {
  for (const Added& a : impl_->added)
    if (a.content == token) return a.id;
  const int id = impl_->m().token_to_id(token);
  if (id < 0) return std::nullopt;
  return id;
}

}  // namespace zeroshot::tokenizer
