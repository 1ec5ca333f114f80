// Model::classify_embedding (scores for an image embedding computed before, as the HTTP server's
// batches use) and Model::text_cache_stats, on the tiny fixture model.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_error.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

using testing::expect_error;

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImage = std::string(ZEROSHOT_FIXTURES) + "/images/scene_640x480_q92.jpg";

void expect_same(const std::vector<LabelScore>& got, const std::vector<LabelScore>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].label, expected[i].label);
    EXPECT_EQ(got[i].score, expected[i].score);
    EXPECT_EQ(got[i].logit, expected[i].logit);
    EXPECT_EQ(got[i].cosine, expected[i].cosine);
  }
}

TEST(ClassifyEmbedding, EqualsClassifyForEveryOptionSet) {
  const Model model = Model::load({.repo = kModel});
  const Image image = Image::from_file(kImage);
  const std::vector<float> embedding = model.embed_image(image);
  const std::vector<std::string> labels = {"a dog", "a cat", "a red car", "a house"};
  const std::vector<ClassifyOptions> option_sets = {
      {},
      {.prompt_template = std::nullopt},
      {.prompt_template = "art of {label}", .top_k = 2},
      {.templates = {"a photo of {label}", "a drawing of {label}"}}};
  for (const auto& options : option_sets) {
    expect_same(model.classify_embedding(embedding, labels, options),
                model.classify(image, labels, options));
  }
}

TEST(ClassifyEmbedding, RefusesAWrongSizeAndBadLabels) {
  const Model model = Model::load({.repo = kModel});
  const std::vector<float> short_embedding(static_cast<std::size_t>(model.embedding_dim()) - 1);
  const std::vector<std::string> labels = {"a dog"};
  expect_error([&] { model.classify_embedding(short_embedding, labels); },
               ErrorCode::kInvalidArgument, {"image embedding has", "values"});
  const std::vector<float> embedding(static_cast<std::size_t>(model.embedding_dim()), 0.0f);
  expect_error([&] { model.classify_embedding(embedding, {}); }, ErrorCode::kInvalidArgument,
               {"no labels"});
  expect_error(
      [&] { model.classify_embedding(embedding, labels, {.prompt_template = "no placeholder"}); },
      ErrorCode::kInvalidArgument, {"no placeholder"});
}

TEST(TextCacheStats, CountsHitsMissesAndEntries) {
  const Model model = Model::load({.repo = kModel});
  const std::vector<float> embedding(static_cast<std::size_t>(model.embedding_dim()), 0.0f);
  const std::vector<std::string> labels = {"a dog", "a cat"};
  EXPECT_EQ(model.text_cache_stats().hits, 0u);
  model.classify_embedding(embedding, labels);
  const auto first = model.text_cache_stats();
  EXPECT_EQ(first.hits, 0u);
  EXPECT_EQ(first.misses, 2u);
  EXPECT_EQ(first.entries, 2u);
  const Model copy = model;  // copies share the cache
  copy.classify_embedding(embedding, labels);
  const auto second = model.text_cache_stats();
  EXPECT_EQ(second.hits, 2u);
  EXPECT_EQ(second.misses, 2u);
  EXPECT_EQ(second.entries, 2u);
}

}  // namespace
}  // namespace zeroshot
