#include "family/siglip/siglip_tokenizer.h"

#include <sentencepiece_processor.h>
#include <utf8proc.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/json_reader.h"
#include "tokenizer/unicode.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {
namespace {

namespace fs = std::filesystem;

constexpr char32_t kUnderline = 0x2581;  // SentencePiece's word boundary, "▁"
constexpr std::string_view kUnk = "<unk>";

// Python's str.isspace(), which is what re's \s and str.strip() use on str.
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Python's string.punctuation.
bool is_ascii_punctuation(char32_t c) {
  return c < 0x80 &&
         std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(static_cast<char>(c)) !=
             std::string_view::npos;
}

// The serialized model with normalizer_spec.add_dummy_prefix = false merged in, as HF's
// get_spm_processor: a protobuf message field repeated later merges into the earlier one, so
// appending normalizer_spec (field 3) { add_dummy_prefix (field 3): false } is that MergeFrom.
std::string without_dummy_prefix(std::string serialized) {
  serialized.append({'\x1a', '\x02', '\x18', '\x00'});
  return serialized;
}

}  // namespace

struct SiglipTokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  bool lower_case = true;
  int max_length = 64;
  int eos_id = 1;
  int unk_pieces = 0;  // how many pieces "<unk>" encodes to (HF's unk_token_length)
};

SiglipTokenizer::SiglipTokenizer(const std::string& folder, int max_length) {
  auto impl = std::make_unique<Impl>();
  const std::string model_path = (fs::path(folder) / "spiece.model").string();
  if (!fs::is_regular_file(model_path)) {
    throw Error(ErrorCode::kModelNotFound,
                model_path + " is missing: a SigLIP model folder needs its SentencePiece model");
  }
  const auto status =
      impl->processor.LoadFromSerializedProto(without_dummy_prefix(util::read_file(model_path)));
  if (!status.ok()) {
    throw Error(ErrorCode::kModelInvalid,
                model_path + ": not a SentencePiece model (" + status.ToString() + ")");
  }
  const std::string config_path = (fs::path(folder) / "tokenizer_config.json").string();
  if (fs::is_regular_file(config_path)) {
    const auto root = config::json_reader::parse_object(util::read_file(config_path), config_path);
    impl->lower_case = config::json_reader::Reader(root, config_path, "")
                           .boolean("do_lower_case", impl->lower_case);
  }
  impl->eos_id = impl->processor.PieceToId("</s>");
  if (impl->eos_id == impl->processor.unk_id()) {
    throw Error(ErrorCode::kModelInvalid, model_path + ": the vocabulary has no </s> piece");
  }
  if (max_length < 1) {
    throw Error(ErrorCode::kModelInvalid,
                "SigLIP text length " + std::to_string(max_length) + ": expected at least 1");
  }
  impl->max_length = max_length;
  std::vector<std::string> pieces;
  impl->processor.Encode(kUnk, &pieces).IgnoreError();
  impl->unk_pieces = static_cast<int>(pieces.size());
  impl_ = std::move(impl);
}

SiglipTokenizer::~SiglipTokenizer() = default;

std::string SiglipTokenizer::canonical_text(std::string_view text) const {
  tokenizer::check_utf8(text);
  // "▁" + text with "▁" as " ", lower-cased code point by code point (U+0130 is the one code
  // point whose lower case is two: "i" + U+0307).
  std::u32string chars = {kUnderline};
  for (std::size_t pos = 0; pos < text.size();) {
    char32_t c = tokenizer::next_code_point(text, pos);
    if (c == kUnderline) c = ' ';
    if (impl_->lower_case) {
      if (c == 0x130) {
        chars.push_back('i');
        c = 0x307;
      } else {
        c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
      }
    }
    chars.push_back(c);
  }
  // canonicalize_text: punctuation removed, whitespace runs to " ", stripped.
  std::string out;
  bool in_space = false;
  for (const char32_t c : chars) {
    if (is_ascii_punctuation(c)) continue;
    if (is_python_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    tokenizer::append_utf8(out, c);
  }
  return out;
}

std::vector<int> SiglipTokenizer::encode(std::string_view text) const {
  std::vector<std::string> pieces;
  const auto status = impl_->processor.Encode(std::string(kUnk) + canonical_text(text), &pieces);
  if (!status.ok()) {
    throw Error(ErrorCode::kInvalidArgument,
                "SentencePiece cannot encode the text: " + status.ToString());
  }
  std::size_t first = pieces.size() >= static_cast<std::size_t>(impl_->unk_pieces)
                          ? static_cast<std::size_t>(impl_->unk_pieces)
                          : 0;
  const std::size_t keep =
      std::min(pieces.size() - first, static_cast<std::size_t>(impl_->max_length - 1));
  std::vector<int> ids;
  ids.reserve(keep + 1);
  for (std::size_t i = first; i < first + keep; ++i)
    ids.push_back(impl_->processor.PieceToId(pieces[i]));
  ids.push_back(impl_->eos_id);
  return ids;
}

std::vector<int> SiglipTokenizer::model_input(std::string_view text) const {
  std::vector<int> ids = encode(text);
  ids.resize(static_cast<std::size_t>(impl_->max_length), impl_->eos_id);  // pad token is </s>
  return ids;
}

}  // namespace zeroshot::family::siglip
