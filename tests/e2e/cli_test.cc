// End-to-end tests of the zeroshot CLI binary: output formats, golden numbers, exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "conformance/reference.h"
#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

using nlohmann::json;
using testing::image_path;
using testing::reference;

using Result = testing::CliResult;

Result run(const std::vector<std::string>& args) { return testing::run_cli(args); }

const std::string kRepo = testing::kTinyClip;

TEST(Cli, ClassifyJsonMatchesReferenceForEveryImage) {
  const auto& set = reference()["label_sets"][0];  // animals, template "a photo of {label}"
  for (const auto& file : testing::image_files()) {
    if (testing::pixels_differ_by_design(file)) continue;
    SCOPED_TRACE(file);
    std::vector<std::string> args = {"classify", "--json", "--repo", kRepo, image_path(file)};
    for (const auto& l : set["labels"]) args.push_back(l);
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto got = json::parse(r.out);
    const auto& expected = testing::per_image(set, file)["classify"];
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i]["label"], expected[i]["label"]);
      EXPECT_NEAR(got[i]["score"].get<double>(), expected[i]["score"].get<double>(), 1e-4);
    }
  }
}

TEST(Cli, EveryLabelSetThroughTheCli) {
  const std::string file = "scene_640x480_q92.jpg";
  ASSERT_GE(reference()["label_sets"].size(), 2u);
  for (const auto& set : reference()["label_sets"]) {
    SCOPED_TRACE(set["name"].get<std::string>());
    std::vector<std::string> args = {"classify", "--json", "--repo", kRepo};
    if (set["template"].is_null())
      args.push_back("--no-template");
    else
      args.insert(args.end(), {"--template", set["template"]});
    args.push_back(image_path(file));
    for (const auto& l : set["labels"]) args.push_back(l);
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto got = json::parse(r.out);
    const auto& expected = testing::per_image(set, file);
    ASSERT_EQ(got.size(), set["labels"].size()) << r.out;
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i]["score"].get<double>(), expected["classify"][i]["score"].get<double>(),
                  1e-4);

    args[0] = "label";
    r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json::parse(r.out)["label"], expected["top_label"]);
  }
}

TEST(Cli, TextOutputIsOneLinePerLabelBestFirst) {
  const auto& set = reference()["label_sets"][0];  // animals, template "a photo of {label}"
  const std::string file = "scene_640x480.png";
  std::vector<std::string> args = {"classify", "--repo", kRepo, image_path(file)};
  for (const auto& l : set["labels"]) args.push_back(l);
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The reference's sorted scores, printed with 4 decimals and two spaces before the label.
  std::string expected;
  for (const auto& s : testing::per_image(set, file)["classify"]) {
    char score[32];
    std::snprintf(score, sizeof score, "%.4f", s["score"].get<double>());
    expected += std::string(score) + "  " + s["label"].get<std::string>() + "\n";
  }
  EXPECT_EQ(r.out, expected);
  args[0] = "label";
  r = run(args);
  EXPECT_EQ(r.out, testing::per_image(set, file)["top_label"].get<std::string>() + "\n");
}

TEST(Cli, SimilarityJson) {
  std::size_t compared = 0;
  for (const auto& pair : reference()["image_pairs"]) {
    const std::string a = pair["a"], b = pair["b"];
    if (b.find('@') != std::string::npos) continue;
    ++compared;
    auto r = run({"similarity", "--json", "--repo", kRepo, image_path(a), image_path(b)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NEAR(json::parse(r.out)["similarity"].get<double>(),
                std::min(1.0, pair["cosine"].get<double>()), 1e-4)
        << a << " ~ " << b;
  }
  EXPECT_GE(compared, 5u) << "the reference's image pairs were not compared";
}

TEST(Cli, EmbedJsonKeepsOrderAndMatchesReference) {
  const auto& token = reference()["label_sets"][1]["tokens"][0];
  const std::string text = token["text"];
  auto r = run({"embed", "--json", "--repo", kRepo, "--text", text, "--image",
                image_path("scene_640x480.png")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = json::parse(r.out);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["text"], text);
  EXPECT_EQ(got[1]["image"], image_path("scene_640x480.png"));
  EXPECT_LE(testing::max_abs_diff(got[0]["embedding"].get<std::vector<float>>(),
                                  token["text_embeds_norm"]),
            1e-4);
  EXPECT_LE(testing::max_abs_diff(got[1]["embedding"].get<std::vector<float>>(),
                                  testing::image_entry("scene_640x480.png")["image_embeds_norm"]),
            1e-4);
}

TEST(Cli, TokenizeJsonMatchesHuggingFaceForEveryReferenceString) {
  std::ifstream in(testing::kFixtures + "/reference/tokenizer-hf.json");
  const auto cases = json::parse(in);
  std::vector<std::string> args = {"tokenize", "--json", "--repo", kRepo, "--"};
  for (const auto& c : cases) args.push_back(c["text"]);
  auto r = run(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = json::parse(r.out);
  ASSERT_EQ(got.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(got[i]["text"], cases[i]["text"]);
    // The references were made with truncation off; the model's 77 positions keep the first 76
    // ids and the end token.
    auto expected = cases[i]["ids"].get<std::vector<int>>();
    if (expected.size() > 77) {
      expected.resize(77);
      expected.back() = 49407;
    }
    EXPECT_EQ(got[i]["ids"].get<std::vector<int>>(), expected) << cases[i]["text"];
  }
}

TEST(Cli, UsageErrorsExitWithTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"classify"},
           {"classify", "--repo", kRepo, image_path("scene_640x480.png")},
           {"classify", "--bogus", image_path("scene_640x480.png"), "a"},
           {"classify", "--template", "x {label}", "--no-template", "img.png", "a"},
           {"similarity", image_path("scene_640x480.png")},
           {"embed", "--repo", kRepo, "--json"},
           {"frobnicate"},
       }) {
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 2) << ::testing::PrintToString(args) << "\n" << r.err;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(Cli, FailuresExitWithOneAndNameTheProblem) {
  auto r = run({"classify", "--repo", kRepo, "/nonexistent/cat.jpg", "a", "b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/cat.jpg"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = run({"classify", "--repo", "/nonexistent/model", image_path("scene_640x480.png"), "a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;

  r = run({"classify", "--repo", kRepo, "--template", "no placeholder",
           image_path("scene_640x480.png"), "a"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("{label}"), std::string::npos) << r.err;
}

TEST(Cli, HelpTeachesWithExamples) {
  for (const char* sub : {"classify", "label", "similarity", "embed", "tokenize"}) {
    auto r = run({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_NE(r.out.find("Examples:"), std::string::npos) << sub << ": " << r.out;
  }
  auto r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("classify"), std::string::npos);
}

// The weights a command prepares are written after it exits, by a child that holds the cache
// folder's lock while it writes; the next run maps them and prints the same scores. Where oneDNN
// packs nothing (AVX2) no file is written, which is checked too.
TEST(Cli, PreparedWeightsAreWrittenAfterTheCommandThenMapped) {
  namespace fs = std::filesystem;
  const fs::path cache = testing::make_temp_dir("zs_cli_prepared_");
  const char* before = std::getenv("ZEROSHOT_PREPARED_CACHE");
  const std::string saved = before ? before : "";
  ::setenv("ZEROSHOT_PREPARED_CACHE", cache.c_str(), 1);
  const std::vector<std::string> args = {
      "classify", "--json", "--repo", kRepo, image_path("scene_640x480_q92.jpg"), "a dog", "a cat"};
  const Result first = run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // The writer took the lock before the command exited; it is free once the files are there.
  const int folder = ::open(cache.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(folder, 0);
  bool free = false;
  for (int i = 0; i < 3000 && !free; ++i) {
    free = ::flock(folder, LOCK_EX | LOCK_NB) == 0;
    if (!free) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::close(folder);
  ASSERT_TRUE(free) << "the background writer still holds the cache folder after 30 s";
  const Result ls = run({"cache", "ls", "--json"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  const json files = json::parse(ls.out)["prepared"]["files"];
  EXPECT_TRUE(files.size() == 0 || files.size() == 2) << files.dump();
  for (const auto& f : files) {
    EXPECT_FALSE(f["temporary"].get<bool>()) << f.dump();
    EXPECT_FALSE(f["stale"].get<bool>()) << f.dump();
  }
  const Result second = run(args);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  ::setenv("ZEROSHOT_PREPARED_CACHE", "off", 1);
  EXPECT_EQ(run(args).out, first.out);
  if (before)
    ::setenv("ZEROSHOT_PREPARED_CACHE", saved.c_str(), 1);
  else
    ::unsetenv("ZEROSHOT_PREPARED_CACHE");
  fs::remove_all(cache);
}

}  // namespace
}  // namespace zeroshot
