// Golden tests: ids from Hugging Face's Rust `tokenizers` engine (reference/tokenizer-hf.json)
// and the hf_ids of reference/tiny-clip.json, for both tokenizer.json and vocab.json+merges.txt.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "family/clip/clip_tokenizer.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::tokenizer {
namespace {

namespace fs = std::filesystem;
const std::string kFixtures = ZEROSHOT_FIXTURES;
const std::string kTiny = kFixtures + "/models/tiny-clip";
constexpr int kBos = 49406;
constexpr int kEos = 49407;

struct Case {
  std::string text;
  std::vector<int> ids;  // reference ids, with start and end tokens
  bool ids_truncated;    // the reference was already cut to 77 (tiny-clip.json "hf_truncated")
};

std::vector<Case> hf_cases() {
  const auto j = nlohmann::json::parse(util::read_file(kFixtures + "/reference/tokenizer-hf.json"));
  std::vector<Case> cases;
  // HF's engine with truncation off: long texts give more than 77 ids.
  for (const auto& c : j) cases.push_back({c["text"], c["ids"].get<std::vector<int>>(), false});
  return cases;
}

std::vector<Case> label_set_cases() {
  const auto j = nlohmann::json::parse(util::read_file(kFixtures + "/reference/tiny-clip.json"));
  std::vector<Case> cases;
  for (const auto& set : j["label_sets"]) {
    for (std::size_t i = 0; i < set["texts"].size(); ++i) {
      const auto& tokens = set["tokens"][i];
      EXPECT_EQ(tokens["text"], set["texts"][i]);
      cases.push_back({set["texts"][i], tokens["hf_ids"].get<std::vector<int>>(),
                       tokens["hf_truncated"].get<bool>()});
    }
  }
  return cases;
}

// The references are untruncated (HF's pipeline has truncation off); ours keeps the start token,
// the first max_length - 2 content tokens and the end token.
std::vector<int> truncated(std::vector<int> ids, std::size_t max_length) {
  if (ids.size() > max_length) {
    ids.resize(max_length - 1);
    ids.push_back(kEos);
  }
  return ids;
}

std::string escaped(const std::string& s) { return nlohmann::json(s).dump(); }

const Tokenizer& json_tokenizer() {
  static const Tokenizer tok = family::clip::load_tokenizer(kTiny);
  return tok;
}

const Tokenizer& vocab_merges_tokenizer() {
  static const Tokenizer tok = family::clip::tokenizer_from_vocab_merges(
      util::read_file(kTiny + "/vocab.json"), util::read_file(kTiny + "/merges.txt"), kTiny);
  return tok;
}

void expect_matches(const Tokenizer& tok, const std::vector<Case>& cases) {
  ASSERT_FALSE(cases.empty());
  for (const Case& c : cases) {
    EXPECT_EQ(tok.encode(c.text, 77), truncated(c.ids, 77)) << escaped(c.text);
    if (!c.ids_truncated) {
      EXPECT_EQ(tok.encode(c.text, 4096), c.ids) << escaped(c.text);
    }
  }
}

TEST(Tokenizer, SpecialIds) {
  EXPECT_EQ(json_tokenizer().bos_id(), kBos);
  EXPECT_EQ(json_tokenizer().eos_id(), kEos);
  EXPECT_EQ(vocab_merges_tokenizer().bos_id(), kBos);
  EXPECT_EQ(vocab_merges_tokenizer().eos_id(), kEos);
}

TEST(Tokenizer, MatchesHfEngineReference) { expect_matches(json_tokenizer(), hf_cases()); }

TEST(Tokenizer, MatchesLabelSetReference) { expect_matches(json_tokenizer(), label_set_cases()); }

TEST(Tokenizer, VocabMergesMatchesHfEngineReference) {
  expect_matches(vocab_merges_tokenizer(), hf_cases());
}

TEST(Tokenizer, VocabMergesMatchesLabelSetReference) {
  expect_matches(vocab_merges_tokenizer(), label_set_cases());
}

TEST(Tokenizer, ReferencesIncludeLongTexts) {
  // Guard that the truncation checks above are exercised by the fixtures.
  int long_cases = 0;
  for (const auto& c : hf_cases()) long_cases += c.ids.size() > 77;
  for (const auto& c : label_set_cases()) long_cases += c.ids_truncated;
  EXPECT_GE(long_cases, 2);
}

TEST(Tokenizer, TruncationKeepsEndToken) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "the ";
  const auto ids = json_tokenizer().encode(text, 77);
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids.front(), kBos);
  EXPECT_EQ(ids.back(), kEos);
  for (std::size_t i = 1; i + 1 < ids.size(); ++i) EXPECT_EQ(ids[i], 518) << i;  // "the</w>"

  EXPECT_EQ(json_tokenizer().encode(text, 2), (std::vector<int>{kBos, kEos}));
  EXPECT_EQ(json_tokenizer().encode(text, 4), (std::vector<int>{kBos, 518, 518, kEos}));
  // A single long word is cut inside its BPE output as well.
  const auto word = json_tokenizer().encode(std::string(1000, 'x'), 10);
  ASSERT_EQ(word.size(), 10u);
  EXPECT_EQ(word.back(), kEos);
  // Short text is not padded.
  EXPECT_EQ(json_tokenizer().encode("a", 77), (std::vector<int>{kBos, 320, kEos}));
}

TEST(Tokenizer, RejectsTooSmallMaxLength) {
  try {
    json_tokenizer().encode("a", 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("max_length"), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, InvalidUtf8Throws) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"\xff", "offset 0"},
      {"abc\xc3", "offset 3"},           // truncated sequence
      {"ab\xc3(", "offset 3"},           // missing continuation byte
      {"x\xc0\xaf", "offset 1"},         // overlong '/'
      {"caf\xed\xa0\x80", "offset 3"},   // UTF-16 surrogate
      {"\xf4\x90\x80\x80", "offset 0"},  // above U+10FFFF
      {"ok \x80 tail", "offset 3"},      // stray continuation byte
  };
  for (const auto& [text, where] : bad) {
    try {
      json_tokenizer().encode(text, 77);
      ADD_FAILURE() << "no error for " << escaped(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      const std::string msg = e.what();
      EXPECT_NE(msg.find("not valid UTF-8"), std::string::npos) << msg;
      EXPECT_NE(msg.find(where), std::string::npos) << msg;
    }
  }
  // Embedded NUL is valid UTF-8.
  EXPECT_NO_THROW(json_tokenizer().encode(std::string("a\0b", 3), 77));
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("zeroshot-tokenizer-test-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

template <typename F>
void expect_error(F f, ErrorCode code, std::initializer_list<std::string> fragments) {
  try {
    f();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& frag : fragments) {
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
          << e.what() << " lacks " << frag;
    }
  }
}

TEST(Tokenizer, MissingFilesThrowModelNotFound) {
  TempDir empty;
  expect_error([&] { family::clip::load_tokenizer(empty.str()); }, ErrorCode::kModelNotFound,
               {empty.str()});
  const std::string absent = empty.str() + "/no-such-folder";
  expect_error([&] { family::clip::load_tokenizer(absent); }, ErrorCode::kModelNotFound, {absent});
  TempDir only_vocab;
  only_vocab.write("vocab.json", util::read_file(kTiny + "/vocab.json"));
  expect_error([&] { family::clip::load_tokenizer(only_vocab.str()); }, ErrorCode::kModelNotFound,
               {only_vocab.str()});
}

TEST(Tokenizer, FolderWithoutTokenizerJsonUsesVocabMerges) {
  TempDir dir;
  dir.write("vocab.json", util::read_file(kTiny + "/vocab.json"));
  dir.write("merges.txt", util::read_file(kTiny + "/merges.txt"));
  const Tokenizer tok = family::clip::load_tokenizer(dir.str());
  for (const Case& c : label_set_cases()) {
    EXPECT_EQ(tok.encode(c.text, 77), truncated(c.ids, 77)) << escaped(c.text);
  }
}

TEST(Tokenizer, MalformedFilesThrowModelInvalid) {
  expect_error([] { family::clip::tokenizer_from_json("{not json", "x/tokenizer.json"); },
               ErrorCode::kModelInvalid, {"x/tokenizer.json"});
  expect_error([] { family::clip::tokenizer_from_json("[]", "x/tokenizer.json"); },
               ErrorCode::kModelInvalid, {"x/tokenizer.json"});
  expect_error(
      [] {
        family::clip::tokenizer_from_json(
            R"({"model": {"type": "BPE", "vocab": {"a": 0, "?": 1}, "unk_token": "?",
                             "merges": ["a b"]}})",
            "x/tokenizer.json");
      },
      ErrorCode::kModelInvalid, {"x/tokenizer.json", "merges[0]", "'b'"});
  expect_error(
      [] {
        family::clip::tokenizer_from_json(R"({"model": {"type": "WordPiece", "vocab": {}}})",
                                          "x/tokenizer.json");
      },
      ErrorCode::kModelInvalid, {"x/tokenizer.json", "BPE"});
  const std::string vocab = util::read_file(kTiny + "/vocab.json");
  expect_error(
      [&] {
        family::clip::tokenizer_from_vocab_merges(vocab, "#version: 0.2\ni n\nthree parts here\n",
                                                  "f");
      },
      ErrorCode::kModelInvalid, {"f/merges.txt", "line 3"});
  expect_error([&] { family::clip::tokenizer_from_vocab_merges("{\"a\": -1}", "", "f"); },
               ErrorCode::kModelInvalid, {"f/vocab.json"});
  expect_error([&] { family::clip::tokenizer_from_vocab_merges("{", "", "f"); },
               ErrorCode::kModelInvalid, {"f/vocab.json"});

  TempDir dir;
  dir.write("tokenizer.json", "{\"model\": 3}");
  expect_error([&] { family::clip::load_tokenizer(dir.str()); }, ErrorCode::kModelInvalid,
               {dir.str() + "/tokenizer.json"});
}

TEST(Tokenizer, MergesAsArraysGiveSameIds) {
  // Newer `tokenizers` versions write merges as [left, right] pairs instead of "left right".
  auto j = nlohmann::json::parse(util::read_file(kTiny + "/tokenizer.json"));
  for (auto& m : j["model"]["merges"]) {
    const std::string line = m.get<std::string>();
    const std::size_t sp = line.find(' ');
    m = nlohmann::json::array({line.substr(0, sp), line.substr(sp + 1)});
  }
  const Tokenizer tok = family::clip::tokenizer_from_json(j.dump(), "arrays/tokenizer.json");
  for (const Case& c : hf_cases()) {
    EXPECT_EQ(tok.encode(c.text, 4096), c.ids) << escaped(c.text);
  }
}

TEST(Tokenizer, MalformedVocabAndMergeEntriesThrowModelInvalid) {
  const std::string file = "bad/tokenizer.json";
  auto with_model = [](const std::string& model) {
    return R"({"model": {"type": "BPE", "unk_token": "?", )" + model + "}}";
  };
  for (const std::string& text : {
           with_model(R"("vocab": {"a": 0.5, "?": 1}, "merges": [])"),
           with_model(R"("vocab": {"a": -1, "?": 1}, "merges": [])"),
           with_model(R"("vocab": {"a": [0], "?": 1}, "merges": [])"),
           with_model(R"("vocab": {"a": 0, "?": 1}, "merges": [3])"),
           with_model(R"("vocab": {"a": 0, "?": 1}, "merges": [["a"]])"),
           with_model(R"("vocab": {"a": 0, "?": 1}, "merges": [["a", "a", "a"]])"),
           with_model(R"("vocab": {"a": 0, "?": 1}, "merges": ["a  a"])"),
           with_model(R"("vocab": {"a": 0, "?": 1})"),
           with_model(R"("merges": [])"),
           std::string(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})"),
           std::string(R"({"model": {"vocab": {"a": 0}, "merges": [)"),
           std::string("6"),  // a top-level scalar (found by fuzzing: read an empty stack)
           std::string("6\"trailing"),
       }) {
    SCOPED_TRACE(text);
    expect_error([&] { family::clip::tokenizer_from_json(text, file); }, ErrorCode::kModelInvalid,
                 {file});
  }
  for (const char* vocab : {"6", "[1]", "\"a\"", "{\"a\": {}}"}) {
    expect_error([&] { family::clip::tokenizer_from_vocab_merges(vocab, "", "dir"); },
                 ErrorCode::kModelInvalid, {"dir/vocab.json"});
  }
  expect_error([] { family::clip::tokenizer_from_vocab_merges(R"({"a": 0})", "", "dir"); },
               ErrorCode::kModelInvalid, {"dir/vocab.json", "<|startoftext|>"});
}

// Hostile input: arbitrary bytes either fail as invalid UTF-8 or encode to in-range ids.
TEST(Tokenizer, ArbitraryBytesNeverMisbehave) {
  const Tokenizer& tok = json_tokenizer();
  std::uint64_t state = 0x243F6A8885A308D3ull;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  int valid = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    const int len = static_cast<int>(next() % 24);
    for (int i = 0; i < len; ++i) {
      if (iter % 2 == 0) {
        text.push_back(static_cast<char>(next() & 0xFF));  // raw bytes
      } else {
        // A random code point (any plane, surrogates skipped), encoded by hand.
        std::uint32_t cp = next() % 0x110000;
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        nlohmann::json::string_t utf8;
        if (cp < 0x80) {
          utf8 += static_cast<char>(cp);
        } else if (cp < 0x800) {
          utf8 += static_cast<char>(0xC0 | (cp >> 6));
          utf8 += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          utf8 += static_cast<char>(0xE0 | (cp >> 12));
          utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          utf8 += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          utf8 += static_cast<char>(0xF0 | (cp >> 18));
          utf8 += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          utf8 += static_cast<char>(0x80 | (cp & 0x3F));
        }
        text += utf8;
      }
    }
    std::vector<int> ids;
    try {
      ids = tok.encode(text, 16);
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), ErrorCode::kInvalidArgument) << escaped(text);
      ASSERT_EQ(iter % 2, 0) << "valid UTF-8 rejected: " << e.what();
      continue;
    }
    ++valid;
    ASSERT_GE(ids.size(), 2u);
    ASSERT_LE(ids.size(), 16u);
    EXPECT_EQ(ids.front(), kBos);
    EXPECT_EQ(ids.back(), kEos);
    for (int id : ids) ASSERT_TRUE(id >= 0 && id < 49408) << id;
  }
  EXPECT_GT(valid, 1500);
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent) {
  const auto cases = hf_cases();
  const Tokenizer tok = json_tokenizer();  // copies share the tables
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (const Case& c : cases) failures[t] += tok.encode(c.text, 4096) != c.ids;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace zeroshot::tokenizer
