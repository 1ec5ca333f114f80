// Prompt templates at the public API: the built-in sets compiled from data/templates/, and the
// template-file parser with its errors (file and line named).
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "zeroshot/error.h"
#include "zeroshot/templates.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

TEST(TemplateSets, NamesAreTheBuiltInSets) {
  EXPECT_EQ(template_set_names(),
            (std::vector<std::string>{"openai-imagenet-7", "openai-imagenet-80"}));
}

TEST(TemplateSets, OpenAiImageNet80) {
  const auto t = template_set("openai-imagenet-80");
  ASSERT_EQ(t.size(), 80u);
  // The first, a middle and the last of the notebook's imagenet_templates, "{}" -> "{label}".
  EXPECT_EQ(t.front(), "a bad photo of a {label}.");
  EXPECT_EQ(t[35], "a {label} in a video game.");
  EXPECT_EQ(t.back(), "a tattoo of the {label}.");
  for (const auto& s : t) {
    EXPECT_NE(s.find("{label}"), std::string::npos) << s;
    EXPECT_EQ(s.find("{}"), std::string::npos) << s;
    EXPECT_EQ(std::count(t.begin(), t.end(), s), 1) << "duplicate: " << s;
  }
}

TEST(TemplateSets, OpenAiImageNet7IsTheSelectedSubsetInOrder) {
  const auto seven = template_set("openai-imagenet-7");
  EXPECT_EQ(seven, (std::vector<std::string>{"itap of a {label}.", "a bad photo of the {label}.",
                                             "a origami {label}.", "a photo of the large {label}.",
                                             "a {label} in a video game.", "art of the {label}.",
                                             "a photo of the small {label}."}));
  const auto eighty = template_set("openai-imagenet-80");
  for (const auto& s : seven)
    EXPECT_NE(std::find(eighty.begin(), eighty.end(), s), eighty.end()) << s;
}

TEST(TemplateSets, UnknownNameListsTheKnownOnes) {
  expect_error([] { template_set("openai-imagenet-81"); }, ErrorCode::kInvalidArgument,
               {"'openai-imagenet-81'", "openai-imagenet-7", "openai-imagenet-80"});
}

TEST(TemplateFiles, SkipsCommentsBlankLinesAndCarriageReturns) {
  const auto t = parse_templates(
      "# header\r\n\na photo of {label}\r\n  {label} indented\n#x\n"
      "last {label} {label}",
      "mine.txt");
  EXPECT_EQ(t, (std::vector<std::string>{"a photo of {label}", "  {label} indented",
                                         "last {label} {label}"}));
}

TEST(TemplateFiles, TemplateWithoutLabelNamesFileAndLine) {
  expect_error([] { parse_templates("# c\na {label}\n\na photo\n", "mine.txt"); },
               ErrorCode::kInvalidArgument, {"mine.txt:4", "\"a photo\"", "{label}"});
}

TEST(TemplateFiles, EmptyFileIsAnError) {
  for (const char* text : {"", "\n\n", "# only a comment\n"})
    expect_error([&] { parse_templates(text, "empty.txt"); }, ErrorCode::kInvalidArgument,
                 {"empty.txt", "no templates"});
}

TEST(TemplateFiles, ReadsAFileAndNamesItInErrors) {
  const auto dir = fs::temp_directory_path() / ("zs_templates_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto good = (dir / "good.txt").string();
  std::ofstream(good) << "a {label}\nthe {label}\n";
  EXPECT_EQ(read_templates_file(good), (std::vector<std::string>{"a {label}", "the {label}"}));
  const auto empty = (dir / "empty.txt").string();
  std::ofstream(empty) << "";
  expect_error([&] { read_templates_file(empty); }, ErrorCode::kInvalidArgument, {empty});
  const auto bad = (dir / "bad.txt").string();
  std::ofstream(bad) << "a {label}\nno placeholder\n";
  expect_error([&] { read_templates_file(bad); }, ErrorCode::kInvalidArgument, {bad + ":2"});
  expect_error([&] { read_templates_file((dir / "missing.txt").string()); }, ErrorCode::kIo,
               {"missing.txt"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot
