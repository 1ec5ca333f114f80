// The byte-level BPE tokenizer of Hugging Face `tokenizers` as a family uses it: the general
// tokenizer.json engine (json_tokenizer.h) configured with what a family's files leave unsaid
// (the start and end tokens; for vocab.json + merges.txt, the pipeline its converter writes:
// Conventions) and the length. family/clip/clip_tokenizer.h is its user:
//
//   auto tok = zeroshot::tokenizer::Tokenizer::from_tokenizer_json(text, path, conventions);
//   std::vector<int> ids = tok.encode("a photo of a cat", 77);  // bos, content ids, eos
//
// The file's pipeline runs as HF's engine runs it (for CLIP: special tokens, NFC, whitespace runs
// to " ", lowercase, the Split pattern of pre_tokenize.h, ByteLevel, BPE with an end-of-word
// suffix), then bos + tokens + eos, truncated to max_length keeping the end token. No ftfy and
// no HTML unescaping (HF's fast tokenizer does neither).
//
// Thread safety: a Tokenizer is immutable after construction; copies share the loaded tables and
// `encode` (const) may be called from any number of threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace zeroshot::tokenizer {

// What a family's tokenizer files leave unsaid.
struct Conventions {
  std::string bos;  // the start token's text, looked up when tokenizer.json's post_processor
  std::string eos;  // does not give the ids ("cls", "sep"), and always for vocab.json
  // vocab.json + merges.txt only: the BPE model's settings (as HF's converter for the family).
  std::string end_of_word_suffix;
  std::string unk_token;
  // vocab.json + merges.txt only: the tokenizer.json sections the family's converter writes
  // besides the model, added tokens and post-processor (normalizer, pre_tokenizer), as JSON.
  std::string vocab_merges_pipeline;
};

class Tokenizer {
 public:
  // `source` names the file in error messages.
  static Tokenizer from_tokenizer_json(std::string_view json_text, const std::string& source,
                                       const Conventions& conventions);
  // `source` is the folder (or other location) holding the two files; errors name
  // "<source>/vocab.json" or "<source>/merges.txt". The special tokens are registered as a
  // converter writes them into tokenizer.json: bos matched after normalisation, eos on the raw
  // text.
  static Tokenizer from_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                     const std::string& source, const Conventions& conventions);

  // bos + BPE tokens + eos, truncated to max_length keeping the end token (at most max_length - 2
  // content tokens). Throws Error(kInvalidArgument) if `text` is not valid UTF-8 (naming the byte
  // offset) or max_length < 2.
  std::vector<int> encode(std::string_view text, int max_length) const;

  int bos_id() const;
  int eos_id() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace zeroshot::tokenizer
