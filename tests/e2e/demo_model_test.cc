// The trained demo model (data/models/shapes-clip, scripts/demo-model/) through the CLI, on the
// held-out pictures shipped beside it (examples/: generated with another seed than the training
// set, never seen in training). The right label must win, and every score must equal the one
// that the Python training model computed on the same weights (examples/reference.json, written
// by scripts/demo-model/examples.py), so a regression of the engine or of the shipped model fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kModel = ZEROSHOT_DEMO_MODEL;

const json& reference() {
  static const json r = [] {
    std::ifstream in(kModel / "examples" / "reference.json");
    return json::parse(in);
  }();
  return r;
}

TEST(DemoModel, ReferenceCoversSeveralPicturesAndLabelSets) {
  EXPECT_GE(reference()["images"].size(), 8u);
  EXPECT_EQ(reference()["label_sets"].size(), 2u);
  EXPECT_EQ(reference()["label_sets"]["24 colour+shape labels"].size(), 24u);
}

TEST(DemoModel, RightLabelWinsAndScoresMatchThePythonModel) {
  for (const auto& image : reference()["images"]) {
    const std::string file = image["file"];
    const std::string truth = image["truth"];
    for (const auto& [set_name, labels] : reference()["label_sets"].items()) {
      SCOPED_TRACE(file + ", " + set_name);
      std::vector<std::string> args = {"classify", "--json", "--repo", kModel.string(),
                                       (kModel / "examples" / file).string()};
      for (const auto& l : labels) args.push_back(l);
      const auto r = testing::run_cli(args);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const json got = json::parse(r.out);
      ASSERT_EQ(got.size(), labels.size());
      bool truth_in_set = false;
      for (const auto& l : labels) truth_in_set = truth_in_set || l == truth;
      if (truth_in_set) {
        EXPECT_EQ(got[0]["label"], truth);
      }
      const json& expected = image["scores"][set_name];
      for (const auto& row : got) {
        EXPECT_NEAR(row["score"].get<double>(), expected[row["label"].get<std::string>()], 1e-4)
            << row["label"];
      }
    }
  }
}

// The demo's own command (scripts/demo.sh): text output, best first, the right label on top.
TEST(DemoModel, DemoCommandPrintsTheRightLabelFirst) {
  const auto r = testing::run_cli({"classify", "--repo", kModel.string(),
                                   (kModel / "examples" / "yellow-star.png").string(), "a red star",
                                   "a yellow circle", "a blue square", "a yellow star"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto first_line = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(first_line.find("a yellow star"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace zeroshot
