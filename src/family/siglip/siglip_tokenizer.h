// SigLIP's text tokenizer, as Hugging Face's SiglipTokenizer (tokenization_siglip.py, transformers
// commit c8dfc84ee87d238ad88090d677fe5f1bae4739cf) inside the zero-shot pipeline:
//   text with "▁" replaced by " ", "▁" prepended; lower-cased per character (do_lower_case, as
//   PreTrainedTokenizer.tokenize); canonicalised (ASCII punctuation removed, whitespace runs to
//   one space, stripped: big_vision's canonicalize_text); SentencePiece (Google's library) on
//   "<unk>" + text with add_dummy_prefix off, the pieces of "<unk>" dropped; truncated to
//   max_length - 1 pieces, then "</s>". The text tower takes that padded with the pad token
//   (</s>) to max_length, as the pipeline's padding="max_length".
// Not reproduced: special tokens written literally in the text ("</s>", "<unk>") are text here,
// while HF splits them out first.
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
  // true). Throws Error(kModelNotFound) if spiece.model is missing, kModelInvalid naming the file
  // if it is not a SentencePiece model or lacks </s>.
  SiglipTokenizer(const std::string& folder, int max_length);
  ~SiglipTokenizer() override;

  std::vector<int> encode(std::string_view text) const override;
  std::vector<int> model_input(std::string_view text) const override;

  // The canonical text SentencePiece sees after "<unk>" (exposed for tests).
  std::string canonical_text(std::string_view text) const;

  struct Impl;

 private:
  std::unique_ptr<const Impl> impl_;
};

}  // namespace zeroshot::family::siglip
