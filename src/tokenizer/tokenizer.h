// CLIP's text tokenizer, identical in its ids to Hugging Face's fast CLIP tokenizer
// (`tokenizers` running the tokenizer.json of openai/clip-vit-base-patch32):
//
//   auto tok = zeroshot::tokenizer::Tokenizer::from_folder("models/tiny-clip");
//   std::vector<int> ids = tok.encode("a photo of a cat");  // [49406, 320, 1125, 539, 320, 2368,
//   49407]
//
// Pipeline (tokenizer.json): split out special tokens (AddedVocabulary) -> normalizer (NFC,
// whitespace runs to " ", lowercase) -> pre_tokenizer (CLIP's split pattern, then ByteLevel) ->
// BPE with "</w>" -> <|startoftext|> + tokens + <|endoftext|>, truncated to max_length keeping the
// end token. No ftfy and no HTML unescaping (HF's fast tokenizer does neither).
//
// Thread safety: a Tokenizer is immutable after construction; copies share the loaded tables and
// `encode` (const) may be called from any number of threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zeroshot::tokenizer {

class Tokenizer {
 public:
  // tokenizer.json if present in `folder`, else vocab.json + merges.txt (both forms give the same
  // ids). Throws Error(kModelNotFound) naming the folder if neither exists, kModelInvalid naming
  // the file for malformed contents.
  static Tokenizer from_folder(const std::string& folder);
  // `source` names the file in error messages.
  static Tokenizer from_tokenizer_json(std::string_view json_text, const std::string& source);
  // `source` is the folder (or other location) holding the two files; errors name
  // "<source>/vocab.json" or "<source>/merges.txt". Special tokens follow CLIP's tokenizer.json:
  // <|startoftext|> matched after normalisation, <|endoftext|> on the raw text.
  static Tokenizer from_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                     const std::string& source);

  // <|startoftext|> + BPE tokens + <|endoftext|>, truncated to max_length keeping the end token
  // (at most max_length - 2 content tokens). Throws Error(kInvalidArgument) if `text` is not
  // valid UTF-8 (naming the byte offset) or max_length < 2.
  std::vector<int> encode(std::string_view text, int max_length = 77) const;

  int bos_id() const;
  int eos_id() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace zeroshot::tokenizer
