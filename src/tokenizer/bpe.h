// The byte-level alphabet of BPE tokenizers (GPT-2's bytes_to_unicode) and the vocabulary table
// type; the BPE model itself is in json_tokenizer.cc.
#pragma once

#include <array>
#include <string>

#include "tokenizer/flat_map.h"

namespace zeroshot::tokenizer {

using Vocab = TokenTable;

// GPT-2's bytes_to_unicode(): the printable byte ranges '!'..'~', U+00A1..U+00AC and
// U+00AE..U+00FF map to themselves, the other 68 bytes to U+0100.. in byte order. Returns the
// UTF-8 form of each byte's character.
std::array<std::string, 256> byte_level_alphabet();

}  // namespace zeroshot::tokenizer
