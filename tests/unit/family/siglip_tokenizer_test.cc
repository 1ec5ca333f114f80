// SiglipTokenizer against tests/fixtures/siglip/tokenizer-reference.json: the ids Google's
// SentencePiece library (Python binding) gives when driven with Hugging Face's SiglipTokenizer
// steps (make_siglip_fixtures.py), for 335 strings: punctuation, Unicode, case, whitespace and
// texts truncated at 64 tokens, on a model trained with spm_train (nmt_nfkc, as SigLIP's).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "family/siglip/siglip_tokenizer.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {
namespace {

namespace fs = std::filesystem;

const std::string kFolder = std::string(ZEROSHOT_FIXTURES) + "/siglip";

nlohmann::json reference() {
  std::ifstream in(kFolder + "/tokenizer-reference.json");
  return nlohmann::json::parse(in);
}

TEST(SiglipTokenizer, IdsMatchSentencePieceDrivenWithHfSteps) {
  const auto ref = reference();
  const int max_length = ref["max_length"];
  const SiglipTokenizer tokenizer(kFolder, max_length);
  ASSERT_GE(ref["cases"].size(), 300u);
  int truncated = 0;
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    const auto expected = c["ids"].get<std::vector<int>>();
    EXPECT_EQ(tokenizer.encode(text), expected) << "text: \"" << text << "\"";
    truncated += expected.size() == static_cast<std::size_t>(max_length);
  }
  EXPECT_GE(truncated, 4);  // the long texts reach the limit
}

// Texts with added tokens written in them (</s>, <unk>, <pad>, near-misses such as </S>, < /s>,
// </s, in every position, with and without spaces) under four tokenizer configurations, against
// make_special_reference.py's re-implementation of HF's slow path (transformers itself cannot be
// installed here; that script also re-derives every case of tokenizer-reference.json).
TEST(SiglipTokenizer, SpecialTokensWrittenInTheTextSplitAsHfSlowTokenizer) {
  std::ifstream in(kFolder + "/special-tokens-reference.json");
  const auto ref = nlohmann::json::parse(in);
  const int max_length = ref["max_length"];
  ASSERT_EQ(ref["configs"].size(), 4u);
  for (const auto& config : ref["configs"]) {
    const std::string name = config["name"];
    const fs::path dir =
        fs::temp_directory_path() / ("zs_spm_special_" + name + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(kFolder + "/spiece.model", dir / "spiece.model",
                  fs::copy_options::overwrite_existing);
    if (!config["tokenizer_config"].is_null())
      std::ofstream(dir / "tokenizer_config.json") << config["tokenizer_config"].dump();
    if (!config["special_tokens_map"].is_null())
      std::ofstream(dir / "special_tokens_map.json") << config["special_tokens_map"].dump();
    const SiglipTokenizer tokenizer(dir.string(), max_length);
    fs::remove_all(dir);
    ASSERT_GE(config["cases"].size(), 300u);
    int with_special_id = 0;
    for (const auto& c : config["cases"]) {
      const std::string text = c["text"];
      const auto expected = c["ids"].get<std::vector<int>>();
      EXPECT_EQ(tokenizer.encode(text), expected) << name << ": \"" << text << "\"";
      with_special_id += std::count(expected.begin(), expected.end() - 1, 1) > 0;
    }
    EXPECT_GE(with_special_id, 40) << name;  // many texts really hold </s> as a token
    const auto padded = tokenizer.model_input("a dog");
    EXPECT_EQ(padded.back(), config["pad_id"].get<int>()) << name;
  }
}

TEST(SiglipTokenizer, ModelInputIsPaddedWithEndTokens) {
  const SiglipTokenizer tokenizer(kFolder, 64);
  const auto ids = tokenizer.encode("a photo of a dog");
  const auto padded = tokenizer.model_input("a photo of a dog");
  ASSERT_EQ(padded.size(), 64u);
  EXPECT_TRUE(std::equal(ids.begin(), ids.end(), padded.begin()));
  for (std::size_t i = ids.size(); i < padded.size(); ++i) EXPECT_EQ(padded[i], 1);
  EXPECT_EQ(ids.back(), 1);  // </s>
}

TEST(SiglipTokenizer, CanonicalTextAsBigVision) {
  const SiglipTokenizer tokenizer(kFolder, 64);
  EXPECT_EQ(tokenizer.canonical_text("  A  Photo,\tof \u00a0a DOG!  "), "\u2581 a photo of a dog");
  EXPECT_EQ(tokenizer.canonical_text("\u0130"), "\u2581i\u0307");
  EXPECT_EQ(tokenizer.canonical_text("a\u2581b"), "\u2581a b");
}

TEST(SiglipTokenizer, DoLowerCaseFalseKeepsCase) {
  const fs::path dir = fs::temp_directory_path() / ("zs_spm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kFolder + "/spiece.model", dir / "spiece.model",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir / "tokenizer_config.json") << R"({"do_lower_case": false})";
  const SiglipTokenizer tokenizer(dir.string(), 64);
  EXPECT_EQ(tokenizer.canonical_text("A Dog"), "\u2581A Dog");
  fs::remove_all(dir);
}

TEST(SiglipTokenizer, BadInputIsAnError) {
  const SiglipTokenizer tokenizer(kFolder, 64);
  try {
    tokenizer.encode("bad \xff byte");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  try {
    SiglipTokenizer(std::string(ZEROSHOT_FIXTURES) + "/images", 64);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelNotFound);
    EXPECT_NE(std::string(e.what()).find("spiece.model"), std::string::npos);
  }
  const fs::path dir = fs::temp_directory_path() / ("zs_spm_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "spiece.model") << "not a model";
  try {
    SiglipTokenizer(dir.string(), 64);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
  }
  fs::remove_all(dir);
}

// SigLIP 2's layout: a Gemma-style tokenizer.json (BPE with byte fallback, "▁" for spaces,
// <eos> appended) and no spiece.model. The pipeline's ids (truncation to 64 keeping <eos>,
// padding with <pad> id 0 to 64) against HF's engine on 1300 texts (fixtures/tokenizer_json).
TEST(SiglipFastTokenizer, GemmaTokenizerJsonAsThePipeline) {
  const fs::path dir = fs::temp_directory_path() / ("zs_siglip2_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string fixtures = std::string(ZEROSHOT_FIXTURES) + "/tokenizer_json/";
  fs::copy_file(fixtures + "bpe_byte_fallback.json", dir / "tokenizer.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(dir / "tokenizer_config.json") << R"({"pad_token": "<pad>", "eos_token": "<eos>"})";
  const auto tok = load_text_tokenizer(dir.string(), 64);
  fs::remove_all(dir);
  std::ifstream in(fixtures + "bpe_byte_fallback.reference.json");
  const auto ref = nlohmann::json::parse(in);
  ASSERT_GE(ref["cases"].size(), 1000u);
  int padded = 0;
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    const auto expected = c["ids"].get<std::vector<int>>();  // the file pads to 64 with 0
    ASSERT_EQ(expected.size(), 64u);
    EXPECT_EQ(tok->model_input(text), expected) << text;
    auto unpadded = expected;
    while (!unpadded.empty() && unpadded.back() == 0) unpadded.pop_back();
    EXPECT_EQ(tok->encode(text), unpadded) << text;
    EXPECT_EQ(unpadded.back(), 1);  // <eos>, also where the text was truncated
    padded += unpadded.size() < 64;
  }
  EXPECT_GE(padded, 1000);
}

TEST(SiglipFastTokenizer, FolderWithBothPrefersTokenizerJson) {
  const fs::path dir = fs::temp_directory_path() / ("zs_siglip2b_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kFolder + "/spiece.model", dir / "spiece.model",
                fs::copy_options::overwrite_existing);
  EXPECT_NE(dynamic_cast<const SiglipTokenizer*>(load_text_tokenizer(dir.string(), 64).get()),
            nullptr);
  fs::copy_file(std::string(ZEROSHOT_FIXTURES) + "/tokenizer_json/bpe_byte_fallback.json",
                dir / "tokenizer.json", fs::copy_options::overwrite_existing);
  EXPECT_NE(dynamic_cast<const SiglipFastTokenizer*>(load_text_tokenizer(dir.string(), 64).get()),
            nullptr);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot::family::siglip
