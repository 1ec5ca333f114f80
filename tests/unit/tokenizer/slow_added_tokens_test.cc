// The slow tokenizers' added-token split (tokenizer/slow_added_tokens.h) on the examples of HF's
// Trie docstrings and tests (tokenization_utils.py, tests/test_tokenization_utils.py): the
// longest match first, the earliest start winning over a later special token.
#include "tokenizer/slow_added_tokens.h"

#include <gtest/gtest.h>

namespace zeroshot::tokenizer {
namespace {

SlowAddedTokens make(std::vector<std::u32string> words) {
  std::vector<SlowAddedToken> tokens;
  for (auto& w : words) tokens.push_back({.content = std::move(w)});
  return SlowAddedTokens(std::move(tokens), {});
}

using Pieces = std::vector<std::u32string>;

TEST(SlowAddedTokens, TrieSplitsLongestFirst) {
  EXPECT_EQ(make({}).trie_split(U"[CLS] This is a extra_id_100"),
            Pieces{U"[CLS] This is a extra_id_100"});
  const auto t = make({U"[CLS]", U"extra_id_1", U"extra_id_100"});
  EXPECT_EQ(t.trie_split(U"[CLS] This is a extra_id_100"),
            (Pieces{U"[CLS]", U" This is a ", U"extra_id_100"}));
  EXPECT_EQ(make({U"A", U"P", U"[SPECIAL_TOKEN]"}).trie_split(U"This is something [SPECIAL_TOKEN]"),
            (Pieces{U"This is something ", U"[SPECIAL_TOKEN]"}));
  EXPECT_EQ(make({U"AB", U"B", U"C"}).trie_split(U"ABC"), (Pieces{U"AB", U"C"}));
  EXPECT_EQ(make({U"ABC", U"B", U"CD"}).trie_split(U"ABCD"), (Pieces{U"ABC", U"D"}));
  EXPECT_EQ(make({U"[CLS]", U"L"}).trie_split(U"[CLS]"), Pieces{U"[CLS]"});
  EXPECT_EQ(make({U"ab"}).trie_split(U"xabab"), (Pieces{U"x", U"ab", U"ab"}));
}

TEST(SlowAddedTokens, FlagsStripAndJoinNeighbours) {
  std::vector<SlowAddedToken> tokens = {
      {.content = U"</s>", .id = 1, .lstrip = true, .rstrip = true},
      {.content = U"[w]", .id = 7, .single_word = true}};
  const SlowAddedTokens t(std::move(tokens), {U"</s>"});
  const auto pieces = t.split(U"a  </s>\t b x[w] c");
  ASSERT_EQ(pieces.size(), 4u);
  EXPECT_EQ(pieces[0].text, U"a");
  EXPECT_EQ(pieces[1].token, 0);
  EXPECT_EQ(pieces[2].text, U"b x[w]");  // single_word: "x[w]" is not a word on its own
  EXPECT_EQ(pieces[2].token, -1);
  EXPECT_EQ(pieces[3].text, U" c");
  EXPECT_EQ(t.lowercase(U"</s></S>AB\u0130"), U"</s></s>abi\u0307");
}

}  // namespace
}  // namespace zeroshot::tokenizer
