// "First call downloads and classifies": the public Model::load with a repo id, served by the fake
// hub on 127.0.0.1, classifies the fixture scene like the reference; the second load makes no
// request; offline mode and a pinned revision load from the cache.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
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
  char pattern[] = "/tmp/zeroshot-hub-model-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string root = pattern;
  setenv("HF_HUB_CACHE", (root + "/hub").c_str(), 1);
  setenv("HF_HOME", (root + "/home").c_str(), 1);
  setenv("HF_ENDPOINT", hub.endpoint().c_str(), 1);
  setenv("HF_HUB_DOWNLOAD_TIMEOUT", "5", 1);
  unsetenv("HF_HUB_OFFLINE");
  unsetenv("HF_TOKEN");
  struct Cleanup {
    std::string root;
    ~Cleanup() {
      unsetenv("HF_HUB_OFFLINE");
      fs::remove_all(root);
    }
  } cleanup{root};

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

}  // namespace
}  // namespace zeroshot::testing
