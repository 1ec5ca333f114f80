// The added-token handling of Hugging Face transformers' *slow* tokenizers
// (`PreTrainedTokenizer.tokenize` and its `Trie` in tokenization_utils.py, as in transformers
// 4.37+, the releases that have SiglipTokenizer, whose tokenization_siglip.py is read at commit
// c8dfc84ee87d238ad88090d677fe5f1bae4739cf): the text is lower-cased except for the special
// tokens (do_lower_case), split on the added tokens by the trie's longest-first rule, and each
// token's lstrip / rstrip / single_word flags applied to its neighbours. The pieces between
// tokens then go to the model (SentencePiece). This is not the fast tokenizers' AddedVocabulary
// (tokenizer.cc), which differs (Aho-Corasick leftmost-longest, its own strip rules).
//
// Text is handled as code points (Python str indexing).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace zeroshot::tokenizer {

// Python's str.isspace(): what str.strip() / lstrip() / rstrip() and re's \s remove on str.
bool is_python_space(char32_t c);

// Python's str.lower() of one code point (re.sub("(.+?)", lower) lowers one character at a time,
// so there is no final-sigma context): the simple mapping, except U+0130 -> "i" U+0307.
void append_python_lower(std::u32string& out, char32_t c);

struct SlowAddedToken {
  std::u32string content;
  int id = 0;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
  bool special = false;
};

class SlowAddedTokens {
 public:
  // `tokens`: every added token (the keys of HF's _added_tokens_encoder). `protected_from_lower`:
  // what the do_lower_case regex keeps verbatim, in its alternation order (all_special_tokens,
  // then the non-special normalized added tokens).
  SlowAddedTokens(std::vector<SlowAddedToken> tokens,
                  std::vector<std::u32string> protected_from_lower);

  // do_lower_case's regex: `(tok1|tok2|...)|(.+?)`, each match of the second group lowered.
  std::u32string lowercase(const std::u32string& text) const;

  // Trie split, then the flags. Each non-empty piece with the added token's index in `tokens()`,
  // or -1 for text.
  struct Piece {
    std::u32string text;
    int token = -1;
  };
  std::vector<Piece> split(const std::u32string& text) const;

  // Trie.split alone (exposed for tests): the cut pieces, tokens and text alike.
  std::vector<std::u32string> trie_split(const std::u32string& text) const;

  const std::vector<SlowAddedToken>& tokens() const { return tokens_; }
  // The index of the added token with this content, or -1.
  int find(const std::u32string& content) const;

 private:
  struct Node {
    std::map<char32_t, int> next;
    bool terminal = false;
  };
  std::vector<SlowAddedToken> tokens_;
  std::vector<std::u32string> protected_;
  std::map<std::u32string, int> by_content_;
  std::vector<Node> nodes_;  // nodes_[0] is the root
};

}  // namespace zeroshot::tokenizer
