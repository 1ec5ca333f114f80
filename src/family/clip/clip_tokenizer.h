// CLIP's text tokenizer, identical in its ids to Hugging Face's fast CLIP tokenizer (`tokenizers`
// running the tokenizer.json of openai/clip-vit-base-patch32): the byte-level BPE engine of
// src/tokenizer with CLIP's special tokens (<|startoftext|>, <|endoftext|>), HF's CLIPConverter
// settings for vocab.json + merges.txt ("</w>", unk = <|endoftext|>), and the text tower's length
// (max_position_embeddings, 77).
//
//   ClipTokenizer tok("models/tiny-clip", 77);
//   std::vector<int> ids = tok.encode("a photo of a cat");  // [49406, 320, 1125, 539, 320, 2368,
//   49407]
//
// Thread safety: immutable after construction; `encode` may run on many threads at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "family/family.h"
#include "tokenizer/tokenizer.h"

namespace zeroshot::family::clip {

// CLIP's special tokens and HF's CLIPConverter settings.
const tokenizer::Conventions& conventions();

// tokenizer.json if present in `folder`, else vocab.json + merges.txt (both forms give the same
// ids). Throws Error(kModelNotFound) naming the folder if neither exists, kModelInvalid naming
// the file for malformed contents.
tokenizer::Tokenizer load_tokenizer(const std::string& folder);
// The two forms from their text; `source` as tokenizer::Tokenizer's.
tokenizer::Tokenizer tokenizer_from_json(std::string_view json_text, const std::string& source);
tokenizer::Tokenizer tokenizer_from_vocab_merges(std::string_view vocab_json,
                                                 std::string_view merges_txt,
                                                 const std::string& source);

class ClipTokenizer final : public TextTokenizer {
 public:
  // load_tokenizer(folder); texts are truncated to max_length ids (the text tower's positions).
  ClipTokenizer(const std::string& folder, int max_length);
  // <|startoftext|> + BPE tokens + <|endoftext|>, truncated keeping the end token.
  std::vector<int> encode(std::string_view text) const override;

 private:
  tokenizer::Tokenizer tokenizer_;
  int max_length_;
};

}  // namespace zeroshot::family::clip
