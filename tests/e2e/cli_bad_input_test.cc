// CLI bad input (docs/ERRORS.md, "Command line"): usage errors exit 2, every other failure exits 1
// with "zeroshot: error (<code name>): <message naming the thing>" on stderr and nothing on
// stdout. Each run is bounded by `timeout`, so a hang fails the test instead of the suite.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = ZEROSHOT_FIXTURES;
const std::string kTiny = kFixtures + "/models/tiny-clip";
const std::string kImage = kFixtures + "/images/small_100x80.png";
const std::string kCorpus = std::string(ZEROSHOT_FUZZ_CORPUS) + "/image_fuzz/";

using Result = testing::CliResult;

Result run(const std::vector<std::string>& args) { return testing::run_cli(args, 120); }

// A usage error: exit 2, a message on stderr naming `fragment`, nothing on stdout.
void expect_usage_error(const std::vector<std::string>& args, const std::string& fragment) {
  const Result r = run(args);
  SCOPED_TRACE(r.err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind("zeroshot: error (usage): ", 0), 0u) << "stderr: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "stderr lacks " << fragment;
}

// A failure: exit 1, "zeroshot: error (<code>): ..." naming every fragment, nothing on stdout.
void expect_failure(const std::vector<std::string>& args, const std::string& code,
                    const std::vector<std::string>& fragments) {
  const Result r = run(args);
  SCOPED_TRACE(r.err);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(r.err.rfind("zeroshot: error (" + code + "): ", 0), 0u) << "stderr: " << r.err;
  for (const auto& f : fragments)
    EXPECT_NE(r.err.find(f), std::string::npos) << "stderr lacks " << f;
}

// Template options (docs/ERRORS.md): a bad set name, template file or --top-k is a usage error
// naming the option and what was wrong; a --template without {label} is the library's error.
TEST(CliBadInput, TemplateOptions) {
  expect_usage_error({"classify", "--repo", kTiny, "--templates", "imagenet", kImage, "a"},
                     "unknown template set 'imagenet'; the built-in sets are: openai-imagenet-7, "
                     "openai-imagenet-80");
  expect_usage_error({"label", "--repo", kTiny, "--templates", "x", kImage, "a"}, "--templates");
  const auto dir = fs::temp_directory_path() / ("zs_cli_templates_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string empty = (dir / "empty.txt").string();
  std::ofstream(empty) << "# nothing\n\n";
  expect_usage_error({"classify", "--repo", kTiny, "--templates-file", empty, kImage, "a"},
                     empty + ": no templates");
  const std::string bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "a photo of {label}\na photo\n";
  expect_usage_error({"classify", "--repo", kTiny, "--templates-file", bad, kImage, "a"},
                     bad + ":2: template \"a photo\" has no {label}");
  expect_usage_error({"classify", "--repo", kTiny, "--templates-file",
                      (dir / "missing.txt").string(), kImage, "a"},
                     "missing.txt");
  expect_usage_error({"classify", "--repo", kTiny, "-l", "a", "--templates-file", bad, kImage},
                     bad + ":2");
  expect_usage_error({"classify", "--no-template", "--templates", "openai-imagenet-7", kImage, "a"},
                     "--no-template");
  expect_usage_error({"classify", "--top-k", "0", kImage, "a"}, "--top-k");
  expect_usage_error({"classify", "--top-k", "two", kImage, "a"}, "--top-k");
  expect_failure(
      {"classify", "--repo", kTiny, "--template", "a {label}", "--template", "photo", kImage, "a"},
      "invalid_argument", {"template 2 of 2", "\"photo\" has no {label}"});
  fs::remove_all(dir);
}

TEST(CliBadInput, UsageErrorsExitTwo) {
  expect_usage_error({}, "");                                               // no subcommand
  expect_usage_error({"frobnicate"}, "frobnicate");                         // unknown subcommand
  expect_usage_error({"classify", "--bogus", kImage, "a dog"}, "--bogus");  // unknown flag
  expect_usage_error({"classify"}, "IMAGE");                                // missing arguments
  expect_usage_error({"classify", kImage}, "LABEL");
  expect_usage_error({"similarity", kImage}, "IMAGE_B");
  expect_usage_error({"classify", "--template", "a {label}", "--no-template", kImage, "a dog"},
                     "--no-template");  // conflicting options
  expect_usage_error({"classify", "--threads", "-3", kImage, "a dog"}, "--threads");
  expect_usage_error({"classify", "--threads", "many", kImage, "a dog"}, "--threads");
  expect_usage_error({"classify", "--repo"}, "--repo");  // option without its value
}

TEST(CliBadInput, HelpAndVersionExitZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"--version"}, {"classify", "--help"}}) {
    const Result r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(r.out.empty());
  }
}

TEST(CliBadInput, BadImagesExitOne) {
  const std::string missing = "/nonexistent/zs_missing.png";
  expect_failure({"classify", "--repo", kTiny, missing, "a dog"}, "image_read", {missing});
  expect_failure({"classify", "--repo", kTiny, kFixtures, "a dog"}, "image_read",
                 {kFixtures, "directory"});
  expect_failure({"classify", "--repo", kTiny, kCorpus + "truncated.png", "a dog"}, "image_decode",
                 {"truncated.png"});
  expect_failure({"label", "--repo", kTiny, kCorpus + "bomb_100000x100000.png", "a dog"},
                 "image_too_large", {"bomb_100000x100000.png", "100000x100000"});
  expect_failure({"similarity", "--repo", kTiny, kImage, kCorpus + "zero_0x0.png"}, "image_decode",
                 {"zero_0x0.png"});
}

TEST(CliBadInput, BadLabelsAndTemplatesExitOne) {
  // An empty label is a valid prompt (as in Hugging Face and the golden references).
  const Result empty = run({"classify", "--repo", kTiny, kImage, "a dog", ""});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  expect_failure({"classify", "--repo", kTiny, "--template", "a photo", kImage, "a dog"},
                 "invalid_argument", {"a photo", "{label}"});
  expect_failure({"classify", "--repo", kTiny, kImage, "a dog",
                  "a c\xff"
                  "at"},
                 "invalid_argument", {"label 2 of 2", "UTF-8", "byte offset"});
}

TEST(CliBadInput, BadModelsExitOne) {
  const std::string missing = "/nonexistent/zs_model";
  expect_failure({"classify", "--repo", missing, kImage, "a dog"}, "model_not_found", {missing});
  // A folder that is not a CLIP model (the images folder).
  expect_failure({"classify", "--repo", kFixtures + "/images", kImage, "a dog"}, "model_not_found",
                 {"config.json"});
}

}  // namespace
}  // namespace zeroshot
