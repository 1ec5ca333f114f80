#include "family/siglip/siglip_tokenizer.h"

#include <sentencepiece_processor.h>

#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/json_reader.h"
#include "tokenizer/json_tokenizer.h"
#include "tokenizer/slow_added_tokens.h"
#include "tokenizer/unicode.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using tokenizer::SlowAddedToken;

constexpr char32_t kUnderline = 0x2581;  // SentencePiece's word boundary, "▁"

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

std::u32string to_u32(std::string_view text) {
  std::u32string out;
  for (std::size_t pos = 0; pos < text.size();)
    out.push_back(tokenizer::next_code_point(text, pos));
  return out;
}

std::string to_utf8(const std::u32string& text) {
  std::string out;
  for (const char32_t c : text) tokenizer::append_utf8(out, c);
  return out;
}

// canonicalize_text of SiglipTokenizer._tokenize: ASCII punctuation removed, whitespace runs to
// one space, stripped.
std::string canonicalize(const std::u32string& chars) {
  std::string out;
  bool in_space = false;
  for (const char32_t c : chars) {
    if (is_ascii_punctuation(c)) continue;
    if (tokenizer::is_python_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out.push_back(' ');
    in_space = false;
    tokenizer::append_utf8(out, c);
  }
  return out;
}

[[noreturn]] void invalid(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, source + ": " + what);
}

bool flag(const json& object, const char* key, bool fallback, const std::string& source) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) invalid(source, std::string("'") + key + "' must be true or false");
  return it->get<bool>();
}

// An AddedToken serialised as a dict (added_tokens_decoder's values; special tokens written as
// {"__type": "AddedToken", ...}): AddedToken's defaults, normalized = not special.
SlowAddedToken added_token_from_json(const json& v, const std::string& source) {
  if (!v.is_object() || !v.contains("content") || !v["content"].is_string())
    invalid(source, "an added token must be an object with a string 'content', got " + v.dump());
  SlowAddedToken t;
  t.content = to_u32(v["content"].get<std::string>());
  t.lstrip = flag(v, "lstrip", false, source);
  t.rstrip = flag(v, "rstrip", false, source);
  t.single_word = flag(v, "single_word", false, source);
  t.special = flag(v, "special", false, source);
  t.normalized = flag(v, "normalized", !t.special, source);
  return t;
}

// One special-token attribute (eos_token, ...): a string, or an AddedToken dict.
struct SpecialValue {
  std::optional<std::string> text;
  std::optional<SlowAddedToken> token;
  std::u32string content() const { return token ? token->content : to_u32(*text); }
};

std::optional<SpecialValue> special_value(const json& v, const std::string& source) {
  if (v.is_null()) return std::nullopt;
  if (v.is_string()) {
    tokenizer::check_utf8(v.get<std::string>());
    return SpecialValue{v.get<std::string>(), std::nullopt};
  }
  return SpecialValue{std::nullopt, added_token_from_json(v, source)};
}

constexpr std::array<const char*, 7> kSpecialAttributes = {
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

}  // namespace

struct SiglipTokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  std::optional<tokenizer::SlowAddedTokens> added;
  std::vector<std::u32string> all_special;  // all_special_tokens (the "▁" rule of tokenize)
  bool lower_case = true;
  int max_length = 64;
  int eos_id = 1;
  int pad_id = 1;
  std::string unk_text = "<unk>";
  int unk_pieces = 0;  // how many pieces the unk token's text encodes to (HF's unk_token_length)

  // SiglipTokenizer._tokenize of one piece between added tokens.
  void tokenize_piece(const std::u32string& piece, std::vector<std::string>& out) const {
    std::vector<std::string> pieces;
    const auto status = processor.Encode(unk_text + canonicalize(piece), &pieces);
    if (!status.ok()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "SentencePiece cannot encode the text: " + status.ToString());
    }
    const std::size_t first = pieces.size() >= static_cast<std::size_t>(unk_pieces)
                                  ? static_cast<std::size_t>(unk_pieces)
                                  : 0;
    for (std::size_t i = first; i < pieces.size(); ++i) out.push_back(std::move(pieces[i]));
  }
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
  if (max_length < 1) {
    throw Error(ErrorCode::kModelInvalid,
                "SigLIP text length " + std::to_string(max_length) + ": expected at least 1");
  }
  impl->max_length = max_length;

  // tokenizer_config.json, and special_tokens_map.json where the config has no
  // added_tokens_decoder (from_pretrained's legacy branch: the map's values win there).
  json config = json::object();
  const std::string config_path = (fs::path(folder) / "tokenizer_config.json").string();
  if (fs::is_regular_file(config_path)) {
    config = config::json_reader::parse_object(util::read_file(config_path), config_path);
    impl->lower_case = config::json_reader::Reader(config, config_path, "")
                           .boolean("do_lower_case", impl->lower_case);
  }
  const bool has_decoder =
      config.contains("added_tokens_decoder") && !config["added_tokens_decoder"].is_null();
  const std::string map_path = (fs::path(folder) / "special_tokens_map.json").string();
  if (!has_decoder && fs::is_regular_file(map_path)) {
    const auto map = config::json_reader::parse_object(util::read_file(map_path), map_path);
    for (const auto& [key, value] : map.items()) config[key] = value;
  }

  std::vector<SlowAddedToken> tokens;
  auto find_token = [&](const std::u32string& content) -> SlowAddedToken* {
    for (SlowAddedToken& t : tokens)
      if (t.content == content) return &t;
    return nullptr;
  };
  if (has_decoder) {
    const json& decoder = config["added_tokens_decoder"];
    if (!decoder.is_object()) invalid(config_path, "'added_tokens_decoder' must be an object");
    for (const auto& [key, value] : decoder.items()) {
      SlowAddedToken t = added_token_from_json(value, config_path);
      std::size_t used = 0;
      long id = -1;
      try {
        id = std::stol(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || id < 0 || id >= impl->processor.GetPieceSize())
        invalid(config_path, "added_tokens_decoder id '" + key + "' is not an id of " + model_path);
      t.id = static_cast<int>(id);
      tokens.push_back(std::move(t));
    }
  }

  // The special-token attributes, with SiglipTokenizer's defaults (eos "</s>", unk "<unk>",
  // pad "</s>"), then additional_special_tokens.
  std::vector<std::pair<std::string, SpecialValue>> specials;
  for (const char* key : kSpecialAttributes) {
    std::optional<SpecialValue> value;
    if (config.contains(key)) value = special_value(config[key], config_path);
    const std::string name = key;
    if (!config.contains(key) || config[key].is_null()) {
      if (name == "eos_token" || name == "pad_token") value = SpecialValue{"</s>", std::nullopt};
      if (name == "unk_token") value = SpecialValue{"<unk>", std::nullopt};
    }
    if (value) specials.emplace_back(name, *value);
  }
  if (config.contains("additional_special_tokens") &&
      !config["additional_special_tokens"].is_null()) {
    const json& extra = config["additional_special_tokens"];
    if (!extra.is_array()) invalid(config_path, "'additional_special_tokens' must be an array");
    for (const json& v : extra) {
      auto value = special_value(v, config_path);
      if (value) specials.emplace_back("additional_special_tokens", *value);
    }
  }
  // _add_tokens(all_special_tokens_extended, special_tokens=True) for those not yet added.
  for (const auto& [name, value] : specials) {
    const std::u32string content = value.content();
    if (content.empty()) continue;
    if (SlowAddedToken* existing = find_token(content)) {
      (void)existing;
      continue;
    }
    SlowAddedToken t;
    if (value.token) {
      t = *value.token;
      t.special = true;
    } else {
      const bool eos_unk_pad = name == "eos_token" || name == "unk_token" || name == "pad_token";
      t.content = content;
      t.lstrip = t.rstrip = eos_unk_pad;  // SiglipTokenizer.__init__'s AddedToken
      t.normalized = false;
      t.special = true;
    }
    const std::string text = to_utf8(content);
    const int id = impl->processor.PieceToId(text);
    if (id == impl->processor.unk_id() && impl->processor.IdToPiece(id) != text) {
      invalid(config_path.empty() ? model_path : config_path,
              "the special token \"" + text + "\" is not in the vocabulary of " + model_path);
    }
    t.id = id;
    tokens.push_back(std::move(t));
  }
  // all_special_tokens (deduplicated, attribute order) and what do_lower_case keeps verbatim.
  for (const auto& [name, value] : specials) {
    const std::u32string content = value.content();
    if (std::find(impl->all_special.begin(), impl->all_special.end(), content) ==
        impl->all_special.end())
      impl->all_special.push_back(content);
  }
  std::vector<std::u32string> keep = impl->all_special;
  for (const SlowAddedToken& t : tokens)
    if (!t.special && t.normalized) keep.push_back(t.content);

  auto id_of = [&](const char* key) {
    for (const auto& [name, value] : specials)
      if (name == key) return find_token(value.content())->id;
    return -1;
  };
  impl->eos_id = id_of("eos_token");
  impl->pad_id = id_of("pad_token");
  if (impl->eos_id < 0) invalid(config_path, "no eos_token");
  if (impl->pad_id < 0) impl->pad_id = impl->eos_id;
  for (const auto& [name, value] : specials)
    if (name == "unk_token") impl->unk_text = to_utf8(value.content());
  impl->added.emplace(std::move(tokens), std::move(keep));

  std::vector<std::string> pieces;
  impl->processor.Encode(impl->unk_text, &pieces).IgnoreError();
  impl->unk_pieces = static_cast<int>(pieces.size());
  impl_ = std::move(impl);
}

SiglipTokenizer::~SiglipTokenizer() = default;

std::string SiglipTokenizer::canonical_text(std::string_view text) const {
  tokenizer::check_utf8(text);
  std::u32string chars = {kUnderline};
  for (const char32_t c : to_u32(text)) {
    const char32_t in = c == kUnderline ? U' ' : c;
    if (impl_->lower_case) {
      tokenizer::append_python_lower(chars, in);
    } else {
      chars.push_back(in);
    }
  }
  return canonicalize(chars);
}

std::vector<int> SiglipTokenizer::encode(std::string_view text) const {
  tokenizer::check_utf8(text);
  // SiglipTokenizer.tokenize: "▁" + text with "▁" as " ".
  std::u32string chars = {kUnderline};
  for (const char32_t c : to_u32(text)) chars.push_back(c == kUnderline ? U' ' : c);
  // PreTrainedTokenizer.tokenize: lower-case all but the special tokens, split on the added
  // tokens, SentencePiece on the text between.
  if (impl_->lower_case) chars = impl_->added->lowercase(chars);
  std::vector<std::string> tokens;  // pieces, and added tokens as their text
  std::vector<int> token_ids;       // the added token's id, or -1 for a piece
  for (const auto& piece : impl_->added->split(chars)) {
    if (piece.token >= 0) {
      tokens.push_back(to_utf8(piece.text));
      token_ids.push_back(impl_->added->tokens()[static_cast<std::size_t>(piece.token)].id);
      continue;
    }
    const std::size_t before = tokens.size();
    impl_->tokenize_piece(piece.text, tokens);
    token_ids.resize(tokens.size(), -1);
    // convert_tokens_to_ids: a piece spelled as an added token takes the added token's id.
    for (std::size_t i = before; i < tokens.size(); ++i) {
      const int index = impl_->added->find(to_u32(tokens[i]));
      if (index >= 0) token_ids[i] = impl_->added->tokens()[static_cast<std::size_t>(index)].id;
    }
  }
  // A lone "▁" piece before a special token is dropped.
  std::size_t first = 0;
  if (tokens.size() > 1 && tokens[0] == "\u2581") {
    const std::u32string second = to_u32(tokens[1]);
    for (const auto& s : impl_->all_special)
      if (s == second) first = 1;
  }
  std::vector<int> ids;
  ids.reserve(tokens.size() - first + 1);
  for (std::size_t i = first; i < tokens.size(); ++i)
    ids.push_back(token_ids[i] >= 0 ? token_ids[i] : impl_->processor.PieceToId(tokens[i]));
  // prepare_for_model: truncated to leave room for the one special token, then </s> unless the
  // ids already end with it (_add_eos_if_not_present).
  const auto limit = static_cast<std::size_t>(impl_->max_length - 1);
  if (ids.size() + 1 > static_cast<std::size_t>(impl_->max_length)) ids.resize(limit);
  if (ids.empty() || ids.back() != impl_->eos_id) ids.push_back(impl_->eos_id);
  return ids;
}

std::vector<int> SiglipTokenizer::model_input(std::string_view text) const {
  std::vector<int> ids = encode(text);
  ids.resize(static_cast<std::size_t>(impl_->max_length), impl_->pad_id);
  return ids;
}

struct SiglipFastTokenizer::Impl {
  explicit Impl(tokenizer::JsonTokenizer t) : engine(std::move(t)) {}
  tokenizer::JsonTokenizer engine;
  int max_length = 64;
  int pad_id = 0;
};

SiglipFastTokenizer::SiglipFastTokenizer(const std::string& folder, int max_length) {
  const std::string path = (fs::path(folder) / "tokenizer.json").string();
  if (!fs::is_regular_file(path)) {
    throw Error(ErrorCode::kModelNotFound, path + " is missing");
  }
  if (max_length < 1) {
    throw Error(ErrorCode::kModelInvalid,
                "SigLIP text length " + std::to_string(max_length) + ": expected at least 1");
  }
  auto impl =
      std::make_unique<Impl>(tokenizer::JsonTokenizer::from_json(util::read_file(path), path));
  impl->max_length = max_length;
  // The pad token the call pads with: tokenizer_config.json, special_tokens_map.json, the file's
  // own padding section, "<pad>".
  std::optional<std::string> pad;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string p = (fs::path(folder) / name).string();
    if (pad || !fs::is_regular_file(p)) continue;
    const auto root = config::json_reader::parse_object(util::read_file(p), p);
    if (auto it = root.find("pad_token"); it != root.end() && !it->is_null()) {
      if (it->is_string()) {
        pad = it->get<std::string>();
      } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        pad = (*it)["content"].get<std::string>();
      } else {
        invalid(p, "'pad_token' must be a string or an object with a 'content'");
      }
    }
  }
  if (pad) {
    const auto id = impl->engine.token_to_id(*pad);
    if (!id) invalid(path, "the pad token \"" + *pad + "\" is not in the vocabulary");
    impl->pad_id = *id;
  } else {
    const json root = json::parse(util::read_file(path), nullptr, false);
    if (root.is_object() && root.contains("padding") && root["padding"].is_object() &&
        root["padding"].contains("pad_id") && root["padding"]["pad_id"].is_number_unsigned()) {
      impl->pad_id = root["padding"]["pad_id"].get<int>();
    } else if (const auto id = impl->engine.token_to_id("<pad>")) {
      impl->pad_id = *id;
    } else {
      invalid(path, "no pad token (tokenizer_config.json's pad_token, the file's padding, <pad>)");
    }
  }
  impl_ = std::move(impl);
}

SiglipFastTokenizer::~SiglipFastTokenizer() = default;

std::vector<int> SiglipFastTokenizer::encode(std::string_view text) const {
  return impl_->engine.encode_truncated(text, impl_->max_length);
}

std::vector<int> SiglipFastTokenizer::model_input(std::string_view text) const {
  std::vector<int> ids = encode(text);
  ids.resize(static_cast<std::size_t>(impl_->max_length), impl_->pad_id);
  return ids;
}

std::unique_ptr<TextTokenizer> load_text_tokenizer(const std::string& folder, int max_length) {
  if (fs::is_regular_file(fs::path(folder) / "tokenizer.json"))
    return std::make_unique<SiglipFastTokenizer>(folder, max_length);
  return std::make_unique<SiglipTokenizer>(folder, max_length);
}

}  // namespace zeroshot::family::siglip
