// Streaming (SAX) readers for tokenizer.json and vocab.json. A DOM of tokenizer.json costs ~4x
// the parse itself (49408 vocab entries and 48894 merges as nlohmann values), so the two large
// sections go straight into their final containers and only the small rest becomes a DOM.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/bpe.h"

namespace zeroshot::tokenizer {

struct TokenizerJson {
  nlohmann::json rest;  // the whole document, with model.vocab {} and model.merges [] left empty
  Vocab vocab;          // model.vocab
  std::vector<std::pair<std::string, std::string>> merges;  // model.merges, in rank order
  bool has_vocab = false;
  bool has_merges = false;
};

// Throws Error(kModelInvalid) naming `source` for malformed JSON or a malformed vocab/merges
// entry. Merges may be "left right" strings or [left, right] arrays (newer tokenizers).
TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& source);

// A vocab.json object of token -> id.
Vocab parse_vocab_json(std::string_view text, const std::string& source);

// "left right" -> the two parts (exactly one space, as HF's merges parser requires).
bool split_merge(std::string_view line, std::string_view& left, std::string_view& right);

}  // namespace zeroshot::tokenizer
