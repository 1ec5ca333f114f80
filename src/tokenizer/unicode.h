// UTF-8 and Unicode helpers for the tokenizer: validation, decoding, and the character classes and
// normalisation of Hugging Face's CLIP `tokenizer.json` pipeline. All Unicode data comes from
// utf8proc (categories, NFC, case mapping); nothing here hard-codes a Unicode table.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zeroshot::tokenizer {

// Throws Error(kInvalidArgument) naming the byte offset and the offending byte when `text` is not
// well-formed UTF-8 (overlong forms, surrogates and code points above U+10FFFF are rejected, as
// Rust's `str` and utf8proc do).
void check_utf8(std::string_view text);

// Decodes the code point at `pos` of valid UTF-8 and advances `pos` past it.
char32_t next_code_point(std::string_view text, std::size_t& pos);

void append_utf8(std::string& out, char32_t cp);

// The classes that CLIP's split pattern distinguishes, with Oniguruma's Unicode meanings (the
// regex engine of HF `tokenizers`): `\s` is the White_Space property (U+0009..U+000D, U+0085 and
// the Zs/Zl/Zp categories), `\p{L}` the L* categories, `\p{N}` the N* categories.
enum class CharClass { kSpace, kLetter, kNumber, kOther };
CharClass char_class(char32_t cp);

// The `normalizer` of CLIP's tokenizer.json: Sequence[NFC, Replace(\s+ -> " "), Lowercase].
// Lowercase is Rust's `char::to_lowercase` applied per character (no context-dependent final
// sigma), which is the simple case mapping except U+0130 -> "i\u0307". Input must be valid UTF-8.
std::string normalize_nfc_lowercase(std::string_view text);

}  // namespace zeroshot::tokenizer
