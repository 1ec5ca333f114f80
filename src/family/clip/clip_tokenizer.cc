#include "family/clip/clip_tokenizer.h"

#include <filesystem>
#include <utility>

#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {

// What HF's CLIPConverter (convert_slow_tokenizer.py) writes into tokenizer.json around the
// vocabulary and merges (the normalizer and pre-tokenizer of openai/clip-vit-base-patch32's file).
constexpr const char* kConverterPipeline = R"({
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "NFC"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
    {"type": "Lowercase"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex":
      "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"},
     "behavior": "Removed", "invert": true},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}
})";

const tokenizer::Conventions& conventions() {
  static const tokenizer::Conventions kConventions{.bos = "<|startoftext|>",
                                                   .eos = "<|endoftext|>",
                                                   .end_of_word_suffix = "</w>",
                                                   .unk_token = "<|endoftext|>",
                                                   .vocab_merges_pipeline = kConverterPipeline};
  return kConventions;
}

tokenizer::Tokenizer tokenizer_from_json(std::string_view json_text, const std::string& source) {
  return tokenizer::Tokenizer::from_tokenizer_json(json_text, source, conventions());
}

tokenizer::Tokenizer tokenizer_from_vocab_merges(std::string_view vocab_json,
                                                 std::string_view merges_txt,
                                                 const std::string& source) {
  return tokenizer::Tokenizer::from_vocab_merges(vocab_json, merges_txt, source, conventions());
}

tokenizer::Tokenizer load_tokenizer(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw Error(ErrorCode::kModelNotFound, folder + ": tokenizer folder does not exist");
  }
  const std::string json_path = (fs::path(folder) / "tokenizer.json").string();
  if (fs::exists(json_path, ec)) return tokenizer_from_json(util::read_file(json_path), json_path);
  const std::string vocab_path = (fs::path(folder) / "vocab.json").string();
  const std::string merges_path = (fs::path(folder) / "merges.txt").string();
  if (fs::exists(vocab_path, ec) && fs::exists(merges_path, ec)) {
    return tokenizer_from_vocab_merges(util::read_file(vocab_path), util::read_file(merges_path),
                                       folder);
  }
  throw Error(
      ErrorCode::kModelNotFound,
      folder + ": no tokenizer found (expected tokenizer.json, or vocab.json and merges.txt)");
}

ClipTokenizer::ClipTokenizer(const std::string& folder, int max_length)
    : tokenizer_(load_tokenizer(folder)), max_length_(max_length) {}

std::vector<int> ClipTokenizer::encode(std::string_view text) const {
  return tokenizer_.encode(text, max_length_);
}

}  // namespace zeroshot::family::clip
