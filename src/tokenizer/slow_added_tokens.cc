#include "tokenizer/slow_added_tokens.h"

#include <utf8proc.h>

#include <cstddef>
#include <utility>

namespace zeroshot::tokenizer {

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

void append_python_lower(std::u32string& out, char32_t c) {
  if (c == 0x130) {
    out.push_back('i');
    out.push_back(0x307);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

namespace {

std::u32string lstrip(const std::u32string& s) {
  std::size_t b = 0;
  while (b < s.size() && is_python_space(s[b])) ++b;
  return s.substr(b);
}

std::u32string rstrip(const std::u32string& s) {
  std::size_t e = s.size();
  while (e > 0 && is_python_space(s[e - 1])) --e;
  return s.substr(0, e);
}

}  // namespace

SlowAddedTokens::SlowAddedTokens(std::vector<SlowAddedToken> tokens,
                                 std::vector<std::u32string> protected_from_lower)
    : tokens_(std::move(tokens)), protected_(std::move(protected_from_lower)) {
  nodes_.emplace_back();
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const std::u32string& word = tokens_[i].content;
    by_content_.emplace(word, static_cast<int>(i));
    if (word.empty()) continue;  // Trie.add ignores the empty string
    int node = 0;
    for (const char32_t c : word) {
      auto it = nodes_[static_cast<std::size_t>(node)].next.find(c);
      if (it == nodes_[static_cast<std::size_t>(node)].next.end()) {
        nodes_.emplace_back();
        const int created = static_cast<int>(nodes_.size()) - 1;
        nodes_[static_cast<std::size_t>(node)].next.emplace(c, created);
        node = created;
      } else {
        node = it->second;
      }
    }
    nodes_[static_cast<std::size_t>(node)].terminal = true;
  }
  std::erase_if(protected_, [](const std::u32string& s) { return s.empty(); });
}

int SlowAddedTokens::find(const std::u32string& content) const {
  auto it = by_content_.find(content);
  return it == by_content_.end() ? -1 : it->second;
}

std::u32string SlowAddedTokens::lowercase(const std::u32string& text) const {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    // The alternation tries the protected strings first, in order, at each position.
    const std::u32string* hit = nullptr;
    for (const std::u32string& p : protected_) {
      if (text.compare(i, p.size(), p) == 0) {
        hit = &p;
        break;
      }
    }
    if (hit != nullptr) {
      out += *hit;
      i += hit->size();
      continue;
    }
    // (.+?) is one character; "." does not match "\n", which stays as it is either way.
    append_python_lower(out, text[i]);
    ++i;
  }
  return out;
}

// Trie.split: the same state machine (partial matches by start; on a completed match, the
// earliest partial match that completes wins, extended as far as the trie allows), so that its
// corner cases cut where HF's do.
std::vector<std::u32string> SlowAddedTokens::trie_split(const std::u32string& text) const {
  const std::size_t n = text.size();
  auto child = [&](int node, char32_t c) {
    const auto& next = nodes_[static_cast<std::size_t>(node)].next;
    auto it = next.find(c);
    return it == next.end() ? -1 : it->second;
  };
  auto terminal = [&](int node) { return nodes_[static_cast<std::size_t>(node)].terminal; };

  std::vector<std::pair<std::size_t, int>> states;  // (start, node), in insertion (= start) order
  std::vector<std::size_t> offsets = {0};
  std::size_t skip = 0;
  for (std::size_t current = 0; current < n; ++current) {
    if (skip != 0 && current < skip) continue;
    const char32_t current_char = text[current];
    std::vector<std::size_t> to_remove;
    bool reset = false;
    for (std::size_t si = 0; si < states.size(); ++si) {
      std::size_t start = states[si].first;
      const int pointer = states[si].second;
      if (terminal(pointer)) {
        std::size_t end = current;
        for (const auto& [lookstart, look_node] : states) {
          if (lookstart > start) break;
          std::size_t lookahead = current;
          if (lookstart < start) {
            lookahead = current + 1;
            end = current + 1;
          } else {
            end = current;
          }
          int node = look_node;
          if (terminal(node)) {
            start = lookstart;
            end = lookahead;
            skip = lookahead;
          }
          while (lookahead < n) {
            const int next = child(node, text[lookahead]);
            if (next < 0) break;
            node = next;
            ++lookahead;
            if (terminal(node)) {
              start = lookstart;
              end = lookahead;
              skip = lookahead;
            }
          }
        }
        offsets.push_back(start);
        offsets.push_back(end);
        reset = true;
        break;
      }
      const int next = child(pointer, current_char);
      if (next >= 0) {
        states[si].second = next;
      } else {
        to_remove.push_back(start);
      }
    }
    if (reset) {
      states.clear();
    } else if (!to_remove.empty()) {
      std::erase_if(states, [&](const std::pair<std::size_t, int>& s) {
        for (const std::size_t r : to_remove)
          if (r == s.first) return true;
        return false;
      });
    }
    if (current >= skip) {
      const int first = child(0, current_char);
      if (first >= 0) states.emplace_back(current, first);
    }
  }
  for (const auto& [start, node] : states) {
    if (terminal(node)) {
      offsets.push_back(start);
      offsets.push_back(n);
      break;
    }
  }
  // cut_text
  offsets.push_back(n);
  std::vector<std::u32string> pieces;
  std::size_t start = 0;
  for (const std::size_t end : offsets) {
    if (start >= end) continue;  // zero-width cuts, and HF's "bug in Trie" recovery
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

std::vector<SlowAddedTokens::Piece> SlowAddedTokens::split(const std::u32string& text) const {
  std::vector<std::u32string> parts = trie_split(text);
  const std::size_t count = parts.size();
  // The flags, in order, each seeing what earlier tokens did to its neighbours.
  for (std::size_t i = 0; i < count; ++i) {
    const std::u32string token = parts[i];
    const int index = find(token);
    if (index < 0) continue;
    const SlowAddedToken& t = tokens_[static_cast<std::size_t>(index)];
    const std::u32string left = i > 0 ? parts[i - 1] : std::u32string();
    const std::u32string right = i + 1 < count ? parts[i + 1] : std::u32string();
    if (t.rstrip && !right.empty()) parts[i + 1] = lstrip(right);
    if (t.lstrip && !left.empty()) parts[i - 1] = rstrip(left);
    if (t.single_word && !left.empty() && left.back() != U' ') {
      parts[i - 1] += token;
      parts[i].clear();
    } else if (t.single_word && !right.empty() && right.front() != U' ') {
      parts[i + 1] = token + parts[i + 1];
      parts[i].clear();
    }
  }
  std::vector<Piece> out;
  for (std::u32string& part : parts) {
    if (part.empty()) continue;
    const int index = find(part);
    out.push_back({std::move(part), index});
  }
  return out;
}

}  // namespace zeroshot::tokenizer
