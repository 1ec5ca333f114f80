// End-to-end tests of `zeroshot classify -l LABEL ... IMAGES...`: JSON lines in input order,
// folders and @lists, bad images reported in place, scores equal to the golden reference.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "conformance/reference.h"
#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::image_path;
using testing::reference;

using Result = testing::CliResult;

Result run(const std::vector<std::string>& args) { return testing::run_cli(args); }

std::vector<json> lines(const std::string& out) {
  std::vector<json> result;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) result.push_back(json::parse(line));
  return result;
}

const std::string kRepo = testing::kTinyClip;

// The animals label set (template "a photo of {label}") with its reference per image.
const json& label_set() { return reference()["label_sets"][0]; }

std::vector<std::string> label_args() {
  std::vector<std::string> args;
  for (const auto& l : label_set()["labels"]) args.insert(args.end(), {"-l", l});
  return args;
}

void expect_reference(const json& line, const std::string& file) {
  SCOPED_TRACE(file);
  ASSERT_TRUE(line.contains("results")) << line.dump();
  const auto& got = line["results"];
  const auto& expected = testing::per_image(label_set(), file)["classify"];
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]["label"], expected[i]["label"]);
    EXPECT_NEAR(got[i]["score"].get<double>(), expected[i]["score"].get<double>(), 1e-4);
  }
}

TEST(BatchCli, JsonLinesInOrderWithBadImagesInPlace) {
  const fs::path dir = testing::make_temp_dir("zs_batch_");
  { std::ofstream(dir / "broken.jpg") << "not a jpeg"; }
  std::vector<std::string> files = {"scene_640x480_q92.jpg", "odd_225x301.png", "exact_224x224.png",
                                    "small_100x80.png"};
  std::vector<std::string> args = {"classify", "--repo", kRepo, "--batch", "2"};
  const auto labels = label_args();
  args.insert(args.end(), labels.begin(), labels.end());
  args.push_back(image_path(files[0]));
  args.push_back((dir / "broken.jpg").string());
  args.push_back((dir / "missing.png").string());
  for (std::size_t i = 1; i < files.size(); ++i) args.push_back(image_path(files[i]));
  const auto r = run(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("2 of 6 images failed"), std::string::npos) << r.err;
  const auto got = lines(r.out);
  ASSERT_EQ(got.size(), 6u) << r.out;
  EXPECT_EQ(got[0]["image"], image_path(files[0]));
  expect_reference(got[0], files[0]);
  EXPECT_EQ(got[1]["image"], (dir / "broken.jpg").string());
  EXPECT_EQ(got[1]["error"]["code"], "image_decode") << got[1].dump();
  EXPECT_EQ(got[2]["error"]["code"], "image_read") << got[2].dump();
  EXPECT_NE(got[2]["error"]["message"].get<std::string>().find("missing.png"), std::string::npos);
  for (std::size_t i = 1; i < files.size(); ++i) {
    EXPECT_EQ(got[i + 2]["image"], image_path(files[i]));
    expect_reference(got[i + 2], files[i]);
  }
  fs::remove_all(dir);
}

TEST(BatchCli, FoldersAndListsAndLabelsFile) {
  const fs::path dir = testing::make_temp_dir("zs_batch_");
  fs::create_directories(dir / "photos");
  // Sorted by name inside a folder; files without an image extension are skipped.
  fs::copy_file(image_path("exact_224x224.png"), dir / "photos" / "b.png");
  fs::copy_file(image_path("scene_640x480_q92.jpg"), dir / "photos" / "a.JPG");
  { std::ofstream(dir / "photos" / "notes.txt") << "not an image"; }
  {
    std::ofstream list(dir / "list.txt");
    list << image_path("odd_225x301.png") << "\n\n" << image_path("small_100x80.png") << "\n";
  }
  {
    std::ofstream labels(dir / "labels.txt");
    for (const auto& l : label_set()["labels"]) labels << l.get<std::string>() << "\n";
  }
  const auto r = run({"classify", "--repo", kRepo, "--labels-file", (dir / "labels.txt").string(),
                      (dir / "photos").string(), "@" + (dir / "list.txt").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = lines(r.out);
  ASSERT_EQ(got.size(), 4u) << r.out;
  EXPECT_EQ(got[0]["image"], (dir / "photos" / "a.JPG").string());
  expect_reference(got[0], "scene_640x480_q92.jpg");
  EXPECT_EQ(got[1]["image"], (dir / "photos" / "b.png").string());
  expect_reference(got[1], "exact_224x224.png");
  expect_reference(got[2], "odd_225x301.png");
  expect_reference(got[3], "small_100x80.png");
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
  fs::remove_all(dir);
}

TEST(BatchCli, UsageErrors) {
  // Labels but no images, an unreadable list, a bad template: nothing is classified.
  auto r = run({"classify", "--repo", kRepo, "-l", "a dog"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("IMAGE"), std::string::npos) << r.err;
  r = run({"classify", "--repo", kRepo, "-l", "a dog", "@/nonexistent/list.txt"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run({"classify", "--repo", kRepo, "--template", "no placeholder", "-l", "a dog",
           image_path("exact_224x224.png")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace zeroshot
