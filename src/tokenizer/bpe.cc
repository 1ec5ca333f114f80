#include "tokenizer/bpe.h"

#include <queue>

#include "tokenizer/unicode.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {

std::array<std::string, 256> byte_level_alphabet() {
  std::array<std::string, 256> chars;
  char32_t next_extra = 0x100;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    append_utf8(chars[b], printable ? static_cast<char32_t>(b) : next_extra++);
  }
  return chars;
}

BpeModel::BpeModel(Vocab vocab, std::string end_of_word_suffix, const std::string& unk_token,
                   const std::string& source)
    : vocab_(std::move(vocab)), suffix_(std::move(end_of_word_suffix)) {
  int unk_id = -1;
  if (!unk_token.empty()) {
    unk_id = token_id(unk_token);
    if (unk_id < 0) {
      throw Error(ErrorCode::kModelInvalid,
                  source + ": unk_token '" + unk_token + "' is not in the vocabulary");
    }
  }
  // As HF BPE::merge_word: a symbol missing from the vocabulary becomes the unknown token; with
  // no unknown token the word cannot be encoded, which we refuse at load time instead.
  const auto alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    byte_id_[b] = token_id(alphabet[b]);
    byte_end_id_[b] = token_id(alphabet[b] + suffix_);
    for (int* id : {&byte_id_[b], &byte_end_id_[b]}) {
      if (*id >= 0) continue;
      if (unk_id < 0) {
        throw Error(ErrorCode::kModelInvalid,
                    source + ": byte-level symbol for byte " + std::to_string(b) +
                        " is not in the vocabulary and there is no unk_token");
      }
      *id = unk_id;
    }
  }
}

int BpeModel::token_id(std::string_view token) const { return vocab_.find(token); }

bool BpeModel::add_merge(std::string_view left, std::string_view right, std::string& missing) {
  const int left_id = token_id(left);
  const int right_id = token_id(right);
  std::string merged;
  merged.reserve(left.size() + right.size());
  merged.append(left).append(right);
  const int new_id = token_id(merged);
  if (left_id < 0 || right_id < 0 || new_id < 0) {  // HF refuses the file too
    missing = left_id < 0 ? std::string(left) : right_id < 0 ? std::string(right) : merged;
    return false;
  }
  const int rank = next_rank_++;
  merges_.insert_or_assign(left_id, right_id, Merge{rank, new_id});
  return true;
}

void BpeModel::encode_word(std::string_view word, std::vector<int>& ids) const {
  const std::size_t n = word.size();
  if (n == 0) return;
  // Symbols of the word as a doubly linked list over a fixed array; a merged-away symbol has
  // alive = false. Mirrors HF tokenizers' Word::merge_all (BPE without dropout).
  struct Symbol {
    int id;
    int prev;
    int next;
    bool alive;
  };
  std::vector<Symbol> symbols(n);  // [bytes of word]
  for (std::size_t i = 0; i < n; ++i) {
    const auto byte = static_cast<unsigned char>(word[i]);
    symbols[i] = Symbol{i + 1 == n ? byte_end_id_[byte] : byte_id_[byte], static_cast<int>(i) - 1,
                        i + 1 == n ? -1 : static_cast<int>(i) + 1, true};
  }
  if (n == 1) {
    ids.push_back(symbols[0].id);
    return;
  }

  // Candidate merges, lowest rank first and leftmost among equal ranks (HF's Merge ordering).
  struct Candidate {
    int rank;
    int pos;
    int new_id;
  };
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  auto push_pair = [&](int pos) {
    const int next = symbols[pos].next;
    if (next < 0) return;
    if (const Merge* m = find_merge(symbols[pos].id, symbols[next].id)) {
      queue.push(Candidate{m->rank, pos, m->new_id});
    }
  };
  for (std::size_t i = 0; i + 1 < n; ++i) push_pair(static_cast<int>(i));

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale entry: as HF, compare the merged id the current pair would produce.
    const Merge* current = find_merge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;

    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int pos = 0; pos >= 0; pos = symbols[pos].next) ids.push_back(symbols[pos].id);
}

}  // namespace zeroshot::tokenizer
