// "First call downloads and classifies": the public Model::load with a repo id, served by the fake
// hub on 127.0.0.1, classifies the fixture scene like the reference; the second load makes no
// request; offline mode and a pinned revision load from the cache. download_model and
// list_cached_models through the public types.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "support/fake_hub.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;

struct Reference {
  std::vector<std::string> labels;
  std::string top_label;
};

Reference animals_for_scene() {
  const auto json = nlohmann::json::parse(
      read_binary(std::string(ZEROSHOT_FIXTURES) + "/reference/tiny-clip.json"));
  for (const auto& set : json["label_sets"]) {
    if (set["name"] != "animals") continue;
    EXPECT_EQ(set["template"], "a photo of {label}");
    for (const auto& entry : set["per_image"]) {
      if (entry["image"] != "scene_640x480.png") continue;
      return {set["labels"].get<std::vector<std::string>>(), entry["top_label"]};
    }
  }
  ADD_FAILURE() << "reference for scene_640x480.png / animals not found";
  return {};
}

TEST(HubModelLoad, FirstCallDownloadsAndClassifiesThenWorksFromTheCache) {
  FakeHub hub;
  const HubEnvironment environment(hub);
  const std::string& root = environment.root();

  const Model model = Model::load({.repo = kRepo});
  EXPECT_EQ(model.folder(), root + "/hub/models--tiny--clip/snapshots/" + kCommitMain);
  const int requests = hub.request_count();
  EXPECT_GT(requests, 0);

  const Reference reference = animals_for_scene();
  const Image image =
      Image::from_file(std::string(ZEROSHOT_FIXTURES) + "/images/scene_640x480.png");
  const auto scores = model.classify(image, reference.labels);
  ASSERT_EQ(scores.size(), reference.labels.size());
  EXPECT_EQ(scores.front().label, reference.top_label);
  // The model from the hub is the fixture model: the same scores, bit for bit, as loading the
  // fixture folder directly (numerical parity itself is tests/conformance' job).
  const auto local = Model::load({.repo = fixture_model_dir()}).classify(image, reference.labels);
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(scores[i].label, local[i].label);
    EXPECT_EQ(scores[i].score, local[i].score) << scores[i].label;
  }

  // Second load: the cache, no request.
  EXPECT_EQ(Model::load({.repo = kRepo}).label(image, reference.labels), reference.top_label);
  EXPECT_EQ(hub.request_count(), requests);
  // Offline: the cache.
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(Model::load({.repo = kRepo}).folder(), model.folder());
  EXPECT_EQ(hub.request_count(), requests);
  unsetenv("HF_HUB_OFFLINE");
  // A pinned commit is its own snapshot.
  EXPECT_EQ(Model::load({.repo = kRepo, .revision = kCommitOld}).folder(),
            root + "/hub/models--tiny--clip/snapshots/" + kCommitOld);
}

// The public hub functions map the hub module's own types: progress reports reach a public
// ProgressCallback (and an exception from it cancels the download), and list_cached_models
// returns what the cache holds.
TEST(HubModelLoad, PublicDownloadReportsProgressAndListsTheCache) {
  FakeHub hub;
  const HubEnvironment environment(hub);
  const std::string snapshot = environment.root() + "/hub/models--tiny--clip/snapshots/";

  struct Cancelled {};
  EXPECT_THROW(download_model(kRepo, "main", [](const DownloadProgress&) { throw Cancelled{}; }),
               Cancelled);

  std::map<std::string, DownloadProgress> last;  // file -> its last report
  EXPECT_EQ(download_model(kRepo, "main", [&](const DownloadProgress& p) { last[p.file] = p; }),
            snapshot + kCommitMain);
  const uint64_t size = hub.files(kCommitMain).at("model.safetensors").content.size();
  ASSERT_EQ(last.count("model.safetensors"), 1u);
  EXPECT_EQ(last["model.safetensors"].done, size);
  EXPECT_EQ(last["model.safetensors"].total, size);

  const std::vector<CachedModel> models = list_cached_models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].repo, kRepo);
  EXPECT_EQ(models[0].path, environment.root() + "/hub/models--tiny--clip");
  EXPECT_GE(models[0].size_on_disk, size);
  ASSERT_EQ(models[0].revisions.size(), 1u);
  EXPECT_EQ(models[0].revisions[0].commit, kCommitMain);
  EXPECT_EQ(models[0].revisions[0].refs, std::vector<std::string>{"main"});
  EXPECT_EQ(models[0].revisions[0].path, snapshot + kCommitMain);
}

}  // namespace
}  // namespace zeroshot::testing
