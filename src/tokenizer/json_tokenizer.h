// A general engine for Hugging Face `tokenizers`' tokenizer.json, identical in its ids to HF's
// Rust engine (tokenizers 0.19 - 0.23) running the same file. The pipeline, as
// `TokenizerImpl::encode_single_sequence` + `post_process`:
//
//   added tokens (non-normalized ones on the raw text, with lstrip / rstrip / single_word)
//   -> normalizer on each piece between them -> normalized added tokens
//   -> pre_tokenizer -> model on each word -> truncation (room left for the post-processor's
//   tokens) -> post_processor -> padding
//
// Implemented components (anything else in a file is a kModelInvalid load error naming it):
//   normalizers     Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace (String patterns; Regex
//                   only "\s+" and " {2,}"), Prepend, Strip, StripAccents, BertNormalizer
//   pre_tokenizers  Sequence, ByteLevel, Whitespace, WhitespaceSplit, Metaspace,
//                   BertPreTokenizer, Punctuation, Digits, CharDelimiterSplit, Split (String
//                   patterns; Regex only CLIP's pattern)
//   models          BPE (byte-level or not, continuing_subword_prefix, end_of_word_suffix,
//                   byte_fallback, fuse_unk, ignore_merges; no dropout), WordPiece, Unigram
//   post_processors TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence
//   truncation      max_length, direction (Right/Left); padding Fixed / BatchLongest, direction,
//                   pad_to_multiple_of
//
// Thread safety: immutable after construction; `encode` may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/json_load.h"

namespace zeroshot::tokenizer {

class JsonTokenizer {
 public:
  // `source` names the file in error messages. Throws Error(kModelInvalid) for malformed JSON,
  // an inconsistent file, or a component this engine does not implement (named in the message).
  static JsonTokenizer from_json(std::string_view json_text, const std::string& source);
  // The same from a document already parsed (or assembled: tokenizer.h's vocab.json +
  // merges.txt form).
  static JsonTokenizer from_parsed(TokenizerJson parsed, const std::string& source);

  // The ids of HF's `tokenizer.encode(text, add_special_tokens)` with the file's truncation and
  // padding (or those set below). Throws Error(kInvalidArgument) if `text` is not valid UTF-8.
  std::vector<int> encode(std::string_view text, bool add_special_tokens = true) const;
  // encode with truncation to `max_length` (Right) instead of the file's, and no padding (the
  // caller pads: a call's padding replaces the file's). Stops reading the text once the kept ids
  // are known.
  std::vector<int> encode_truncated(std::string_view text, int max_length) const;

  // What transformers' call with truncation=True, max_length=n and padding="max_length" sets
  // (returns a configured copy; the original is unchanged).
  JsonTokenizer with_truncation(int max_length) const;
  JsonTokenizer with_padding(int length, int pad_id) const;

  // Id of a token (added tokens first, then the model's vocabulary), or nullopt.
  std::optional<int> token_to_id(std::string_view token) const;

  struct Impl;

 private:
  explicit JsonTokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace zeroshot::tokenizer
