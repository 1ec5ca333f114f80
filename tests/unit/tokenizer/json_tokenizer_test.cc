// The general tokenizer.json engine (tokenizer/json_tokenizer.h) against Hugging Face's own
// engine: the files of fixtures/tokenizer_json (BPE byte-level, BPE with byte fallback as Gemma,
// WordPiece, Unigram) with the ids npm `tokenizers` gave 1100 texts each
// (make_reference.js: every Unicode category, emoji and ZWJ sequences, tabs and runs of spaces,
// literal special tokens, texts that truncate), and CLIP's tokenizer.json with the ids of
// reference/tokenizer-hf.json.
#include "tokenizer/json_tokenizer.h"

#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

const std::string kFixtures = ZEROSHOT_FIXTURES;

// Every case must match, except those mark_unicode_sensitive.py marked (a code point whose
// category HF's old Unicode tables and utf8proc's current ones disagree on, where BertNormalizer
// / BertPreTokenizer look): those are counted, not required. At least 1000 cases are strict.
void expect_reference(const std::string& name) {
  const std::string dir = kFixtures + "/tokenizer_json/";
  const auto tok = JsonTokenizer::from_json(util::read_file(dir + name + ".json"), name);
  const auto ref = nlohmann::json::parse(util::read_file(dir + name + ".reference.json"));
  int strict = 0;
  int failures = 0;
  int long_ones = 0;
  int sensitive_differ = 0;
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    const auto expected = c["ids"].get<std::vector<int>>();
    const auto got = tok.encode(text);
    long_ones += expected.size() >= 64;
    if (c.value("unicode_sensitive", false)) {
      sensitive_differ += got != expected;
      continue;
    }
    ++strict;
    if (got != expected && ++failures <= 10) {
      ADD_FAILURE() << name << ": \"" << text << "\"\n  expected "
                    << nlohmann::json(expected).dump() << "\n  got      "
                    << nlohmann::json(got).dump();
    }
  }
  EXPECT_GE(strict, 1000) << name;
  EXPECT_EQ(failures, 0) << name;
  EXPECT_GE(long_ones, 3) << name;  // truncation (and padding, where the file pads) is exercised
  if (sensitive_differ > 0) {
    std::cout << name << ": " << sensitive_differ
              << " Unicode-version-sensitive cases differ from HF (not required)\n";
  }
}

TEST(JsonTokenizer, BpeByteLevelMatchesHf) { expect_reference("bpe_byte_level"); }
TEST(JsonTokenizer, BpeByteFallbackMatchesHf) { expect_reference("bpe_byte_fallback"); }
TEST(JsonTokenizer, WordPieceMatchesHf) { expect_reference("wordpiece"); }
TEST(JsonTokenizer, UnigramMatchesHf) { expect_reference("unigram"); }

TEST(JsonTokenizer, ClipTokenizerJsonMatchesHf) {
  const auto tok = JsonTokenizer::from_json(
      util::read_file(kFixtures + "/models/tiny-clip/tokenizer.json"), "tiny-clip");
  const auto ref =
      nlohmann::json::parse(util::read_file(kFixtures + "/reference/tokenizer-hf.json"));
  ASSERT_GE(ref.size(), 100u);
  for (const auto& c : ref) {
    const std::string text = c["text"];
    EXPECT_EQ(tok.encode(text), c["ids"].get<std::vector<int>>()) << text;
  }
}

TEST(JsonTokenizer, UnsupportedComponentsAreNamed) {
  auto expect_named = [](const std::string& json, const std::string& what) {
    try {
      JsonTokenizer::from_json(json, "x/tokenizer.json");
      ADD_FAILURE() << "accepted: " << json;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("x/tokenizer.json"), std::string::npos);
    }
  };
  const std::string wp = R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}})";
  expect_named("{" + wp + R"(, "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}})",
               "Precompiled");
  expect_named("{" + wp + R"(, "pre_tokenizer": {"type": "UnicodeScripts"}})", "UnicodeScripts");
  expect_named("{" + wp + R"(, "post_processor": {"type": "Mystery"}})", "Mystery");
  expect_named(R"({"model": {"type": "WordLevel", "vocab": {}}})", "WordLevel");
  expect_named("{" + wp +
                   R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\d+"},
                       "behavior": "Isolated", "invert": false}})",
               "Split");
  expect_named("{not json", "x/tokenizer.json");
}

TEST(JsonTokenizer, TruncationAndPaddingAsTheCallSetsThem) {
  const auto tok = JsonTokenizer::from_json(
      util::read_file(kFixtures + "/tokenizer_json/wordpiece.json"), "wordpiece");
  const auto base = tok.encode("a photo of a dog");
  const auto padded = tok.with_truncation(64).with_padding(64, 0).encode("a photo of a dog");
  ASSERT_EQ(padded.size(), 64u);
  EXPECT_TRUE(std::equal(base.begin(), base.end(), padded.begin()));
  const auto cut = tok.with_truncation(4).encode("a photo of a dog");
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(cut.front(), base.front());
  EXPECT_EQ(cut.back(), base.back());  // [SEP] kept
  EXPECT_THROW(tok.encode("bad \xff"), Error);
}

}  // namespace
}  // namespace zeroshot::tokenizer
