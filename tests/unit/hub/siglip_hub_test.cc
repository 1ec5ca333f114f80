// A SigLIP repo through the hub: the download fetches spiece.model (the repo has no CLIP
// tokenizer), the cached snapshot counts as complete (the second load makes no request), and the
// model loads and classifies like the same folder loaded directly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "e2e/run_cli.h"
#include "support/fake_hub.h"
#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;

TEST(HubSiglip, DownloadsSpieceModelAndLoadsFromTheCache) {
  const fs::path folder = make_temp_dir("zs_siglip_hub_") / "model";
  RandomSiglipOptions options;
  options.config = {{"text_config",
                     {{"hidden_size", 16},
                      {"intermediate_size", 24},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", 2},
                      {"vocab_size", 1000},
                      {"projection_size", 24}}},
                    {"vision_config",
                     {{"hidden_size", 24},
                      {"intermediate_size", 32},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", 2},
                      {"patch_size", 32}}}};
  options.tokenizer_from = std::string(ZEROSHOT_FIXTURES) + "/siglip";
  write_random_siglip(folder.string(), options);
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(folder))
    files[entry.path().filename().string()] = read_binary(entry.path().string());
  ASSERT_TRUE(files.count("spiece.model"));

  FakeHub hub;
  const std::string commit = "5151515151515151515151515151515151515151";
  hub.add_repo("tiny/siglip", commit, files);
  const HubEnvironment environment(hub);
  const Model model = Model::load({.repo = "tiny/siglip"});
  EXPECT_EQ(model.folder(), environment.root() + "/hub/models--tiny--siglip/snapshots/" + commit);
  EXPECT_TRUE(fs::is_regular_file(model.folder() + "/spiece.model"));
  EXPECT_EQ(model.score_kind(), ScoreKind::kSigmoid);
  const int requests = hub.request_count();
  const Model again = Model::load({.repo = "tiny/siglip"});
  EXPECT_EQ(hub.request_count(), requests) << "a complete SigLIP snapshot needs no request";

  const Image image =
      Image::from_file(std::string(ZEROSHOT_FIXTURES) + "/images/scene_640x480.png");
  const std::vector<std::string> labels = {"a dog", "a cat"};
  const auto hub_scores = again.classify(image, labels);
  const auto local_scores = Model::load({.repo = folder.string()}).classify(image, labels);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(hub_scores[i].label, local_scores[i].label);
    EXPECT_EQ(hub_scores[i].score, local_scores[i].score);
  }
}

}  // namespace
}  // namespace zeroshot::testing
