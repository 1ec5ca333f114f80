// SigLIP's text tokenizer, as Hugging Face's slow SiglipTokenizer (tokenization_siglip.py,
// transformers commit c8dfc84ee87d238ad88090d677fe5f1bae4739cf; PreTrainedTokenizer.tokenize of
// tokenization_utils.py, transformers >= 4.34, as tokenizer/slow_added_tokens.h) inside the
// zero-shot pipeline:
//   "▁" + text with "▁" replaced by " "; lower-cased per character except where a special token
//   is written literally (do_lower_case; "</S>" lowers to "</s>" and is then the token); split on
//   the added tokens (</s>, <unk>, the pad token and any of tokenizer_config.json's
//   added_tokens_decoder / additional_special_tokens, or of special_tokens_map.json) with their
//   lstrip / rstrip / single_word flags; each piece between them canonicalised (ASCII
//   punctuation removed, whitespace runs to one space, stripped: big_vision's canonicalize_text)
//   and run through SentencePiece (Google's library) as "<unk>" + piece with add_dummy_prefix
//   off, the pieces of "<unk>" dropped; a lone leading "▁" piece before a special token dropped;
//   truncated to max_length - 1 ids, then "</s>" unless the ids already end with it. The text
//   tower takes that padded with the pad token (</s> unless the config says otherwise) to
//   max_length, as the pipeline's padding="max_length".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "family/family.h"

namespace zeroshot::family::siglip {

class SiglipTokenizer final : public TextTokenizer {
 public:
  // Reads <folder>/spiece.model and, if present, tokenizer_config.json (do_lower_case, default
  // true; the special and added tokens) and special_tokens_map.json. Throws
  // Error(kModelNotFound) if spiece.model is missing, kModelInvalid naming the file if it is not a
  // SentencePiece model, or a special token is not in its vocabulary.
  SiglipTokenizer(const std::string& folder, int max_length);
  ~SiglipTokenizer() override;

  std::vector<int> encode(std::string_view text) const override;
  std::vector<int> model_input(std::string_view text) const override;

  // The canonical text SentencePiece sees after "<unk>" for a text without added tokens in it
  // (exposed for tests).
  std::string canonical_text(std::string_view text) const;

  struct Impl;

 private:
  std::unique_ptr<const Impl> impl_;
};

// The fast tokenizer of a SigLIP folder that ships tokenizer.json (SigLIP 2's fixed-resolution
// checkpoints: a Gemma tokenizer, BPE with byte fallback), which transformers' zero-shot
// pipeline then uses (AutoTokenizer prefers the fast one): the file's pipeline (tokenizer/
// json_tokenizer.h; for SigLIP 2 "▁" for spaces, <eos> appended), truncated to max_length with
// the post-processor's tokens kept, padded with the pad token (tokenizer_config.json /
// special_tokens_map.json's pad_token, else the file's padding, else "<pad>"; SigLIP 2: id 0) to
// max_length, as padding="max_length", truncation=True. No lower-casing: the pipeline does none
// (SigLIP 2's model card asks users to lowercase their labels themselves).
class SiglipFastTokenizer final : public TextTokenizer {
 public:
  // Throws Error(kModelNotFound) if tokenizer.json is missing, kModelInvalid naming the file
  // for what the engine cannot read or a pad token it cannot find.
  SiglipFastTokenizer(const std::string& folder, int max_length);
  ~SiglipFastTokenizer() override;

  std::vector<int> encode(std::string_view text) const override;
  std::vector<int> model_input(std::string_view text) const override;

  struct Impl;

 private:
  std::unique_ptr<const Impl> impl_;
};

// tokenizer.json if the folder has one (the fast tokenizer the pipeline uses), else spiece.model.
std::unique_ptr<TextTokenizer> load_text_tokenizer(const std::string& folder, int max_length);

}  // namespace zeroshot::family::siglip
