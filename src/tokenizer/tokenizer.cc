#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/json_load.h"
#include "tokenizer/json_tokenizer.h"
#include "tokenizer/unicode.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {

namespace {

using nlohmann::json;

[[noreturn]] void invalid(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, source + ": " + what);
}

// The byte-level BPE this wrapper promises: every byte's symbol (and with the end-of-word suffix)
// is in the vocabulary, or an unknown token stands in for it.
void check_byte_alphabet(const Vocab& vocab, const std::string& suffix, const std::string& unk,
                         const std::string& source) {
  if (!unk.empty() && vocab.find(unk) >= 0) return;
  const auto alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    for (const std::string& symbol : {alphabet[b], alphabet[b] + suffix}) {
      if (vocab.find(symbol) < 0) {
        invalid(source, "byte-level symbol for byte " + std::to_string(b) +
                            " is not in the vocabulary and there is no unk_token");
      }
    }
  }
}

std::string model_string(const json& model, const char* key, const std::string& source) {
  if (!model.contains(key) || model[key].is_null()) return {};
  if (!model[key].is_string()) invalid(source, std::string("model.") + key + " must be a string");
  return model[key].get<std::string>();
}

}  // namespace

struct Tokenizer::Impl {
  explicit Impl(JsonTokenizer t) : engine(std::move(t)) {}
  JsonTokenizer engine;
  int bos = -1;
  int eos = -1;
};

Tokenizer Tokenizer::from_tokenizer_json(std::string_view json_text, const std::string& source,
                                         const Conventions& conventions) {
  TokenizerJson parsed = parse_tokenizer_json(json_text, source);
  try {
    json& root = parsed.rest;
    if (!root.is_object()) invalid(source, "expected a JSON object");
    if (!root.contains("model") || !root["model"].is_object()) {
      invalid(source, "missing object \"model\"");
    }
    json& model = root["model"];
    if (model.contains("type") && model["type"] != "BPE") {
      invalid(source, "model.type must be \"BPE\", got " + model["type"].dump());
    }
    model["type"] = "BPE";
    if (!parsed.has_vocab) invalid(source, "missing object model.vocab");
    if (!parsed.has_merges) invalid(source, "missing array model.merges");
    check_byte_alphabet(parsed.vocab, model_string(model, "end_of_word_suffix", source),
                        model_string(model, "unk_token", source), source);
    // Merges first (their errors name the entry), as the engine checks them.
    const std::string prefix = model_string(model, "continuing_subword_prefix", source);
    for (std::size_t i = 0; i < parsed.merges.size(); ++i) {
      const auto& [a, b] = parsed.merges[i];
      const std::string merged =
          a + (!prefix.empty() && b.starts_with(prefix) ? b.substr(prefix.size()) : b);
      for (const std::string* part : {&a, &b, &merged}) {
        if (parsed.vocab.find(*part) < 0) {
          invalid(source, "model.merges[" + std::to_string(i) + "]: merge '" + a + " " + b +
                              "' uses token '" + *part + "' that is not in the vocabulary");
        }
      }
    }

    // The start and end tokens: the post-processor's cls / sep, else the family's by name (added
    // tokens first, then the vocabulary), written in as RobertaProcessing would have them.
    auto named_id = [&](const std::string& name) {
      if (root.contains("added_tokens") && root["added_tokens"].is_array()) {
        for (const json& t : root["added_tokens"]) {
          if (t.is_object() && t.value("content", std::string()) == name && t.contains("id") &&
              t["id"].is_number_integer()) {
            return t["id"].get<int>();
          }
        }
      }
      const int id = parsed.vocab.find(name);
      if (id < 0) invalid(source, "no id for special token " + name);
      return id;
    };
    const json* pp = root.contains("post_processor") && root["post_processor"].is_object()
                         ? &root["post_processor"]
                         : nullptr;
    auto pair_id = [&](const char* key) -> int {
      const json& pair = (*pp)[key];
      if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer() ||
          pair[1].get<std::int64_t>() < 0 ||
          pair[1].get<std::int64_t>() > std::numeric_limits<int>::max()) {
        invalid(source, std::string("post_processor.") + key + " must be [token, id]");
      }
      return pair[1].get<int>();
    };
    const int bos =
        pp != nullptr && pp->contains("cls") ? pair_id("cls") : named_id(conventions.bos);
    const int eos =
        pp != nullptr && pp->contains("sep") ? pair_id("sep") : named_id(conventions.eos);
    root["post_processor"] = {{"type", "RobertaProcessing"},
                              {"cls", json::array({conventions.bos, bos})},
                              {"sep", json::array({conventions.eos, eos})}};
    // The caller's max_length decides; the file's own truncation and padding do not apply.
    root["truncation"] = nullptr;
    root["padding"] = nullptr;
    auto impl = std::make_shared<Impl>(JsonTokenizer::from_parsed(std::move(parsed), source));
    impl->bos = bos;
    impl->eos = eos;
    return Tokenizer(std::move(impl));
  } catch (const nlohmann::json::exception& e) {
    invalid(source, std::string("malformed tokenizer.json: ") + e.what());
  }
}

Tokenizer Tokenizer::from_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                       const std::string& source, const Conventions& conventions) {
  const std::string vocab_source = source + "/vocab.json";
  const std::string merges_source = source + "/merges.txt";
  TokenizerJson parsed;
  parsed.vocab = parse_vocab_json(vocab_json, vocab_source);
  parsed.has_vocab = true;
  parsed.has_merges = true;
  for (const std::string& name : {conventions.bos, conventions.eos}) {
    if (parsed.vocab.find(name) < 0) invalid(vocab_source, "missing special token " + name);
  }
  check_byte_alphabet(parsed.vocab, conventions.end_of_word_suffix, conventions.unk_token,
                      vocab_source);
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < merges_txt.size();) {
    std::size_t end = merges_txt.find('\n', pos);
    if (end == std::string_view::npos) end = merges_txt.size();
    std::string_view line = merges_txt.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.starts_with("#version")) continue;
    std::string_view left;
    std::string_view right;
    const std::string where = merges_source + " line " + std::to_string(line_no);
    if (!split_merge(line, left, right)) {
      throw Error(ErrorCode::kModelInvalid,
                  where + ": expected \"left right\", got \"" + std::string(line) + "\"");
    }
    const std::string merged = std::string(left) + std::string(right);
    for (const std::string_view part : {left, right, std::string_view(merged)}) {
      if (parsed.vocab.find(part) < 0) {
        throw Error(ErrorCode::kModelInvalid,
                    where + ": merge '" + std::string(left) + " " + std::string(right) +
                        "' uses token '" + std::string(part) + "' that is not in the vocabulary");
      }
    }
    parsed.merges.emplace_back(std::string(left), std::string(right));
  }
  // The document the family's converter writes around these two files.
  json root;
  try {
    root = json::parse(conventions.vocab_merges_pipeline);
  } catch (const json::exception& e) {
    throw Error(ErrorCode::kInternal,
                std::string("the tokenizer conventions' pipeline is not JSON: ") + e.what());
  }
  root["model"] = {{"type", "BPE"},
                   {"unk_token", conventions.unk_token},
                   {"end_of_word_suffix", conventions.end_of_word_suffix}};
  const int bos = parsed.vocab.find(conventions.bos);
  const int eos = parsed.vocab.find(conventions.eos);
  // As a converter writes them: bos normalized=true, eos normalized=false.
  root["added_tokens"] = json::array(
      {{{"id", bos}, {"content", conventions.bos}, {"special", true}, {"normalized", true}},
       {{"id", eos}, {"content", conventions.eos}, {"special", true}, {"normalized", false}}});
  root["post_processor"] = {{"type", "RobertaProcessing"},
                            {"cls", json::array({conventions.bos, bos})},
                            {"sep", json::array({conventions.eos, eos})}};
  parsed.rest = std::move(root);
  auto impl = std::make_shared<Impl>(JsonTokenizer::from_parsed(std::move(parsed), source));
  impl->bos = bos;
  impl->eos = eos;
  return Tokenizer(std::move(impl));
}

std::vector<int> Tokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < 2) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "max_length must be at least 2 (start and end tokens), got " + std::to_string(max_length));
  }
  return impl_->engine.encode_truncated(text, max_length);
}

int Tokenizer::bos_id() const { return impl_->bos; }
int Tokenizer::eos_id() const { return impl_->eos; }

}  // namespace zeroshot::tokenizer
