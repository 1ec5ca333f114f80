// Bad-input classes for text (docs/ERRORS.md, "Labels and templates") at the tokenizer: invalid
// UTF-8 is kInvalidArgument naming the byte offset; huge texts are truncated to the 77 positions
// quickly and with the ids of the head of the text (as HF's truncation keeps the head).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "family/clip/clip_tokenizer.h"
#include "tokenizer/tokenizer.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

const Tokenizer& tok() {
  static const Tokenizer t =
      family::clip::load_tokenizer(std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip");
  return t;
}

using Clock = std::chrono::steady_clock;

TEST(TokenizerBadInput, InvalidUtf8NamesTheOffset) {
  struct Case {
    std::string text;
    std::size_t offset;
  };
  const std::vector<Case> cases = {
      {"\xff", 0},                         // never valid
      {"a cat \x80", 6},                   // lone continuation byte
      {"dog \xc3", 4},                     // truncated 2-byte sequence at the end
      {"\xc0\xaf", 0},                     // overlong encoding of '/'
      {"ab\xe0\x80\xaf", 2},               // overlong 3-byte
      {"x\xed\xa0\x80y", 1},               // UTF-16 surrogate
      {"\xf4\x90\x80\x80", 0},             // above U+10FFFF
      {"ok \xe2\x82 no", 5},               // truncated 3-byte sequence: the space at 5
      {std::string("nul\0ok\xfe", 7), 6},  // NUL is valid; 0xFE is not
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    try {
      tok().encode(c.text, 77);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      const std::string message = e.what();
      EXPECT_NE(message.find("not valid UTF-8"), std::string::npos) << message;
      EXPECT_NE(message.find("offset " + std::to_string(c.offset)), std::string::npos) << message;
    }
  }
}

TEST(TokenizerBadInput, EmptyAndWhitespaceOnlyTexts) {
  // The tokenizer accepts them (the API refuses empty labels before tokenizing).
  EXPECT_EQ(tok().encode("", 77), (std::vector<int>{tok().bos_id(), tok().eos_id()}));
  EXPECT_EQ(tok().encode(" \t\n ", 77), (std::vector<int>{tok().bos_id(), tok().eos_id()}));
}

TEST(TokenizerBadInput, OneMegabyteTextsAreTruncatedQuickly) {
  // Many words: the head decides; a single 1 MB word: BPE over the whole word (as HF does) must
  // stay O(n log n); random letters: the same, without merges collapsing everything.
  std::string words;
  while (words.size() < (1u << 20)) words += "a photo of a small dog ";
  std::mt19937 rng(1);
  std::string letters(1u << 20, 'a');
  for (char& c : letters) c = static_cast<char>('a' + rng() % 26);
  const std::string one_word(1u << 20, 'a');
  for (const std::string* text : std::vector<const std::string*>{&words, &letters, &one_word}) {
    const auto start = Clock::now();
    const auto ids = tok().encode(*text, 77);
    const auto elapsed = Clock::now() - start;
    EXPECT_EQ(ids.size(), 77u);
    EXPECT_EQ(ids.front(), tok().bos_id());
    EXPECT_EQ(ids.back(), tok().eos_id());
    // About 2.5 s for 1 MB of random letters in a release build: n log n, as HF. A quadratic
    // BPE would take hours; the bound leaves room for sanitizer builds.
    EXPECT_LT(elapsed, std::chrono::seconds(60)) << "for a 1 MB text";
  }
  // The head of the word list is all that matters: 75 tokens come from its first 13 repeats.
  std::string head;
  for (int i = 0; i < 13; ++i) head += "a photo of a small dog ";
  EXPECT_EQ(tok().encode(words, 77), tok().encode(head, 77));
}

TEST(TokenizerBadInput, InvalidUtf8FarIntoAHugeTextIsStillFound) {
  // Validation covers the whole text, not only the part that survives truncation.
  std::string text(1u << 20, 'a');
  text[900000] = '\xff';
  try {
    tok().encode(text, 77);
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("offset 900000"), std::string::npos) << e.what();
  }
}

TEST(TokenizerBadInput, ShortMaxLengths) {
  EXPECT_EQ(tok().encode("a dog", 2), (std::vector<int>{tok().bos_id(), tok().eos_id()}));
  EXPECT_EQ(tok().encode("a dog", 3).size(), 3u);
  for (int bad : {1, 0, -5}) {
    try {
      tok().encode("a dog", bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("max_length"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace zeroshot::tokenizer
