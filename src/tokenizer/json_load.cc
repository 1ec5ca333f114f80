#include "tokenizer/json_load.h"

#include <limits>

#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

using json = nlohmann::json;

// SAX handler: builds `rest` as a DOM except inside the vocabulary object and the merges array,
// whose entries go to `out.vocab` / `out.merges` directly.
class Collector : public json::json_sax_t {
 public:
  // `top_is_vocab`: the document itself is the vocabulary (vocab.json).
  Collector(TokenizerJson& out, std::string source, bool top_is_vocab)
      : out_(out), source_(std::move(source)), top_is_vocab_(top_is_vocab) {}

  bool null() override { return scalar(json(nullptr)); }
  bool boolean(bool v) override { return scalar(json(v)); }
  bool number_integer(number_integer_t v) override {
    if (in_vocab()) return vocab_entry(v);
    return scalar(json(v));
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (in_vocab()) {
      return vocab_entry(v > static_cast<number_unsigned_t>(std::numeric_limits<int>::max())
                             ? -1
                             : static_cast<number_integer_t>(v));
    }
    return scalar(json(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v)); }
  bool binary(binary_t&) override { return scalar(json()); }
  bool string(string_t& v) override {
    if (!frames_.empty()) {
      Frame& f = top();
      if (f.role == Role::kMerges) {
        std::string_view left;
        std::string_view right;
        if (!split_merge(v, left, right)) fail(merge_where() + ": expected \"left right\"");
        out_.merges.emplace_back(std::string(left), std::string(right));
        ++f.count;
        return true;
      }
      if (f.role == Role::kMergePair) {
        if (f.count >= 2) fail(merge_where() + ": expected [left, right]");
        if (f.count == 0) {
          out_.merges.emplace_back(std::move(v), std::string());
        } else {
          out_.merges.back().second = std::move(v);
        }
        ++f.count;
        return true;
      }
    }
    return scalar(json(std::move(v)));
  }
  bool key(string_t& k) override {
    top().key = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override { return open(/*is_object=*/true); }
  bool start_array(std::size_t) override { return open(/*is_object=*/false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string&, const json::exception& e) override {
    fail("malformed JSON at byte " + std::to_string(position) + ": " + e.what());
  }

 private:
  enum class Role { kDom, kModel, kVocab, kMerges, kMergePair };
  struct Frame {
    Role role;
    json* node;  // the DOM container (kDom, kModel), else null
    std::string key;
    std::size_t count = 0;  // entries seen (kMerges, kMergePair)
  };

  Frame& top() { return frames_.back(); }
  bool in_vocab() const { return !frames_.empty() && frames_.back().role == Role::kVocab; }

  [[noreturn]] void fail(const std::string& what) {
    throw Error(ErrorCode::kModelInvalid, source_ + ": " + what);
  }
  std::string merge_where() {
    const std::size_t merges_depth = frames_.back().role == Role::kMergePair ? 2 : 1;
    const Frame& merges = frames_[frames_.size() - merges_depth];
    return "model.merges[" + std::to_string(merges.count) + "]";
  }

  bool vocab_entry(number_integer_t id) {
    Frame& f = top();
    if (id < 0 || id > std::numeric_limits<int>::max()) {
      fail("vocabulary entry '" + f.key + "' must be a non-negative integer id");
    }
    // A repeated token takes the later id, as serde's HashMap deserialisation in HF.
    out_.vocab.insert_or_assign(f.key, static_cast<int>(id));
    return true;
  }

  // Places a value in the current DOM container; returns where it went.
  json* place(json value) {
    Frame& f = top();
    switch (f.role) {
      case Role::kDom:
      case Role::kModel:
        if (f.node->is_object()) return &((*f.node)[f.key] = std::move(value));
        f.node->push_back(std::move(value));
        return &f.node->back();
      case Role::kVocab:
        fail("vocabulary entry '" + f.key + "' must be a non-negative integer id");
      case Role::kMerges:
      case Role::kMergePair:
        fail(merge_where() + ": expected \"left right\" or [left, right]");
    }
    return nullptr;
  }

  bool scalar(json value) {
    if (frames_.empty()) {
      if (top_is_vocab_) fail("expected a JSON object of token -> id");
      out_.rest = std::move(value);
      return true;
    }
    place(std::move(value));
    return true;
  }

  bool open(bool is_object) {
    if (frames_.empty()) {
      if (top_is_vocab_) {
        if (!is_object) fail("expected a JSON object of token -> id");
        out_.has_vocab = true;
        frames_.push_back({Role::kVocab, nullptr, {}});
        return true;
      }
      out_.rest = is_object ? json::object() : json::array();
      frames_.push_back({Role::kDom, &out_.rest, {}});
      return true;
    }
    Frame& parent = top();
    const bool at_root = frames_.size() == 1 && parent.role == Role::kDom;
    if (parent.role == Role::kModel && is_object && parent.key == "vocab") {
      place(json::object());
      out_.has_vocab = true;
      frames_.push_back({Role::kVocab, nullptr, {}});
      return true;
    }
    if (parent.role == Role::kModel && !is_object && parent.key == "merges") {
      place(json::array());
      out_.has_merges = true;
      frames_.push_back({Role::kMerges, nullptr, {}});
      return true;
    }
    if (parent.role == Role::kMerges && !is_object) {
      frames_.push_back({Role::kMergePair, nullptr, {}});
      return true;
    }
    const bool is_model = at_root && is_object && parent.key == "model";
    json* node = place(is_object ? json::object() : json::array());
    frames_.push_back({is_model ? Role::kModel : Role::kDom, node, {}});
    return true;
  }

  bool close() {
    if (top().role == Role::kMergePair) {
      if (top().count != 2) fail(merge_where() + ": expected [left, right]");
      frames_.pop_back();
      ++top().count;
      return true;
    }
    frames_.pop_back();
    return true;
  }

  TokenizerJson& out_;
  std::string source_;
  bool top_is_vocab_;
  std::vector<Frame> frames_;
};

}  // namespace

bool split_merge(std::string_view line, std::string_view& left, std::string_view& right) {
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos || line.find(' ', sp + 1) != std::string_view::npos) {
    return false;
  }
  left = line.substr(0, sp);
  right = line.substr(sp + 1);
  return true;
}

TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& source) {
  TokenizerJson out;
  // CLIP's tokenizer.json has ~30 bytes per vocab entry and as many merges; the tables grow if
  // the guess is short.
  out.vocab.reserve(text.size() / 32);
  out.merges.reserve(text.size() / 32);
  Collector collector(out, source, /*top_is_vocab=*/false);
  json::sax_parse(text, &collector);
  return out;
}

Vocab parse_vocab_json(std::string_view text, const std::string& source) {
  TokenizerJson out;
  out.vocab.reserve(text.size() / 16);  // CLIP's vocab.json: ~17 bytes per entry
  Collector collector(out, source, /*top_is_vocab=*/true);
  json::sax_parse(text, &collector);
  return std::move(out.vocab);
}

}  // namespace zeroshot::tokenizer
