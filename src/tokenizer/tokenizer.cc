#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "tokenizer/bpe.h"
#include "tokenizer/json_load.h"
#include "tokenizer/pre_tokenize.h"
#include "tokenizer/unicode.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {

namespace {

struct AddedToken {
  std::string content;
  int id;
};

// Leftmost occurrence of any token in `s` at or after `from`, the longest on ties (the
// LeftmostLongest Aho-Corasick match of HF's AddedVocabulary). Returns npos if none.
std::size_t find_added(std::string_view s, std::size_t from, const std::vector<AddedToken>& tokens,
                       const AddedToken*& found) {
  std::size_t best = std::string_view::npos;
  found = nullptr;
  for (const AddedToken& t : tokens) {
    const std::size_t at = s.find(t.content, from);
    if (at == std::string_view::npos) continue;
    if (at < best || (at == best && t.content.size() > found->content.size())) {
      best = at;
      found = &t;
    }
  }
  return best;
}

// Calls on_text(piece) for the text between added tokens and on_token(id) for each token.
template <typename OnText, typename OnToken>
void split_added(std::string_view s, const std::vector<AddedToken>& tokens, OnText on_text,
                 OnToken on_token) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    const AddedToken* t = nullptr;
    const std::size_t at = find_added(s, pos, tokens, t);
    if (at == std::string_view::npos) break;
    if (at > pos) on_text(s.substr(pos, at - pos));
    on_token(t->id);
    pos = at + t->content.size();
  }
  if (pos < s.size()) on_text(s.substr(pos));
}

[[noreturn]] void invalid(const std::string& source, const std::string& what) {
  throw Error(ErrorCode::kModelInvalid, source + ": " + what);
}

int to_id(const nlohmann::json& v, const std::string& source, const std::string& what) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
      v.get<std::int64_t>() > std::numeric_limits<int>::max()) {
    invalid(source, what + " must be a non-negative integer id, got " + v.dump());
  }
  return v.get<int>();
}

template <typename Where>
void add_merge_or_throw(BpeModel& bpe, std::string_view left, std::string_view right, Where where) {
  std::string missing;
  if (!bpe.add_merge(left, right, missing)) {
    throw Error(ErrorCode::kModelInvalid, where() + ": merge '" + std::string(left) + " " +
                                              std::string(right) + "' uses token '" + missing +
                                              "' that is not in the vocabulary");
  }
}

}  // namespace

struct Tokenizer::Impl {
  explicit Impl(BpeModel model) : bpe(std::move(model)) {}
  BpeModel bpe;
  std::vector<AddedToken> raw_tokens;         // added tokens with normalized=false
  std::vector<AddedToken> normalized_tokens;  // normalized=true; content stored normalised
  int bos = -1;
  int eos = -1;

  void add_token(std::string content, int id, bool normalized) {
    if (normalized) {
      std::string norm = normalize_nfc_lowercase(content);
      if (!norm.empty()) normalized_tokens.push_back({std::move(norm), id});
    } else {
      raw_tokens.push_back({std::move(content), id});
    }
  }
};

Tokenizer Tokenizer::from_tokenizer_json(std::string_view json_text, const std::string& source,
                                         const Conventions& conventions) {
  TokenizerJson parsed = parse_tokenizer_json(json_text, source);
  try {
    const auto& root = parsed.rest;
    if (!root.is_object()) invalid(source, "expected a JSON object");
    if (!root.contains("model") || !root["model"].is_object()) {
      invalid(source, "missing object \"model\"");
    }
    const auto& model = root["model"];
    if (model.contains("type") && model["type"] != "BPE") {
      invalid(source, "model.type must be \"BPE\", got " + model["type"].dump());
    }
    if (!parsed.has_vocab) invalid(source, "missing object model.vocab");
    if (!parsed.has_merges) invalid(source, "missing array model.merges");
    auto string_or_empty = [&](const char* key) -> std::string {
      if (!model.contains(key) || model[key].is_null()) return {};
      if (!model[key].is_string()) {
        invalid(source, std::string("model.") + key + " must be a string");
      }
      return model[key].get<std::string>();
    };
    if (!string_or_empty("continuing_subword_prefix").empty()) {
      invalid(source, "model.continuing_subword_prefix is not supported (only end_of_word_suffix)");
    }
    BpeModel bpe(std::move(parsed.vocab), string_or_empty("end_of_word_suffix"),
                 string_or_empty("unk_token"), source);
    bpe.reserve_merges(parsed.merges.size());
    for (std::size_t i = 0; i < parsed.merges.size(); ++i) {
      const auto& [left, right] = parsed.merges[i];
      add_merge_or_throw(bpe, left, right,
                         [&] { return source + ": model.merges[" + std::to_string(i) + "]"; });
    }

    auto impl = std::make_shared<Impl>(std::move(bpe));
    if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
      const auto& added = root["added_tokens"];
      if (!added.is_array()) invalid(source, "added_tokens must be an array");
      for (std::size_t i = 0; i < added.size(); ++i) {
        const auto& t = added[i];
        const std::string what = "added_tokens[" + std::to_string(i) + "]";
        if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
            !t.contains("id")) {
          invalid(source, what + " needs a string \"content\" and an \"id\"");
        }
        const auto content = t["content"].get<std::string>();
        if (content.empty()) invalid(source, what + " has empty content");
        // HF's default for "normalized" is true except for special tokens; the file states it.
        const bool normalized = t.value("normalized", !t.value("special", false));
        impl->add_token(content, to_id(t["id"], source, what + ".id"), normalized);
      }
    }

    // Post-processor RobertaProcessing {"cls": [token, id], "sep": [token, id]}; otherwise the
    // family's special tokens by name.
    auto special_id = [&](const char* key, std::string_view name) {
      if (root.contains("post_processor") && root["post_processor"].is_object()) {
        const auto& pp = root["post_processor"];
        if (pp.contains(key)) {
          const auto& pair = pp[key];
          if (!pair.is_array() || pair.size() != 2) {
            invalid(source, std::string("post_processor.") + key + " must be [token, id]");
          }
          return to_id(pair[1], source, std::string("post_processor.") + key);
        }
      }
      for (const auto* list : {&impl->raw_tokens, &impl->normalized_tokens}) {
        for (const auto& t : *list) {
          if (t.content == name) return t.id;
        }
      }
      const int id = impl->bpe.token_id(name);
      if (id < 0) invalid(source, "no id for special token " + std::string(name));
      return id;
    };
    impl->bos = special_id("cls", conventions.bos);
    impl->eos = special_id("sep", conventions.eos);
    return Tokenizer(std::move(impl));
  } catch (const nlohmann::json::exception& e) {
    invalid(source, std::string("malformed tokenizer.json: ") + e.what());
  }
}

Tokenizer Tokenizer::from_vocab_merges(std::string_view vocab_json, std::string_view merges_txt,
                                       const std::string& source, const Conventions& conventions) {
  const std::string vocab_source = source + "/vocab.json";
  const std::string merges_source = source + "/merges.txt";
  Vocab vocab = parse_vocab_json(vocab_json, vocab_source);
  for (const std::string& name : {conventions.bos, conventions.eos}) {
    if (vocab.find(name) < 0) {
      invalid(vocab_source, "missing special token " + name);
    }
  }
  // The settings the family's converter gives the fast tokenizer built from these files.
  BpeModel bpe(std::move(vocab), conventions.end_of_word_suffix, conventions.unk_token,
               vocab_source);
  bpe.reserve_merges(
      static_cast<std::size_t>(std::count(merges_txt.begin(), merges_txt.end(), '\n') + 1));
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
    auto where = [&] { return merges_source + " line " + std::to_string(line_no); };
    if (!split_merge(line, left, right)) {
      throw Error(ErrorCode::kModelInvalid,
                  where() + ": expected \"left right\", got \"" + std::string(line) + "\"");
    }
    add_merge_or_throw(bpe, left, right, where);
  }
  auto impl = std::make_shared<Impl>(std::move(bpe));
  // As a converter writes them into tokenizer.json: bos normalized=true, eos normalized=false.
  impl->bos = impl->bpe.token_id(conventions.bos);
  impl->eos = impl->bpe.token_id(conventions.eos);
  impl->add_token(conventions.bos, impl->bos, /*normalized=*/true);
  impl->add_token(conventions.eos, impl->eos, /*normalized=*/false);
  return Tokenizer(std::move(impl));
}

std::vector<int> Tokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < 2) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "max_length must be at least 2 (start and end tokens), got " + std::to_string(max_length));
  }
  check_utf8(text);
  const Impl& impl = *impl_;
  const std::size_t limit = static_cast<std::size_t>(max_length) - 2;

  std::vector<int> ids;  // [tokens]: <|startoftext|>, content, then <|endoftext|> appended last
  ids.reserve(static_cast<std::size_t>(max_length));
  ids.push_back(impl.bos);
  // Truncation (HF "longest_first" on one sequence keeps the head): stop once `limit` content
  // tokens exist, since later words cannot change earlier ids.
  auto full = [&] { return ids.size() >= limit + 1; };
  auto push_token = [&](int id) {
    if (!full()) ids.push_back(id);
  };
  auto encode_words = [&](std::string_view normalized) {
    WordSplitter words(normalized);
    std::string_view word;
    while (!full() && words.next(word)) impl.bpe.encode_word(word, ids);
  };
  // As HF's AddedVocabulary::extract_and_normalize: split on the non-normalized added tokens in the
  // raw text, normalise each remaining segment on its own, split it on the normalized tokens.
  split_added(
      text, impl.raw_tokens,
      [&](std::string_view segment) {
        if (full()) return;
        const std::string normalized = normalize_nfc_lowercase(segment);
        split_added(normalized, impl.normalized_tokens, encode_words, push_token);
      },
      push_token);
  if (ids.size() > limit + 1) ids.resize(limit + 1);
  ids.push_back(impl.eos);
  return ids;
}

int Tokenizer::bos_id() const { return impl_->bos; }
int Tokenizer::eos_id() const { return impl_->eos; }

}  // namespace zeroshot::tokenizer
