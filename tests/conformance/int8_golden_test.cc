// The int8 precision of the public Model against the golden reference of the tiny fixture model:
// embeddings stay close to the float ones and the clear winners stay the winners. (The full-size
// ViT-B/32 accuracy figures are in bench/README.md: model_bench measures them.)
#include <gtest/gtest.h>

#include <cmath>

#include "conformance/label_set_options.h"
#include "conformance/reference.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

using testing::image_path;
using testing::reference;

double cosine(const std::vector<float>& a, const nlohmann::json& b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double y = b[i].get<double>();
    dot += a[i] * y;
    na += static_cast<double>(a[i]) * a[i];
    nb += y * y;
  }
  return dot / std::sqrt(na * nb);
}

TEST(Int8Model, CloseToTheReferenceOnEveryImage) {
  const auto model =
      Model::load({.repo = testing::kTinyClip, .threads = 1, .precision = Precision::kInt8});
  const auto& set = reference()["label_sets"][0];
  std::vector<std::string> labels;
  for (const auto& l : set["labels"]) labels.push_back(l);
  const ClassifyOptions options = testing::classify_options(set);
  int decided = 0;
  for (const auto& file : testing::image_files()) {
    if (testing::pixels_differ_by_design(file)) continue;
    SCOPED_TRACE(file);
    const auto image = Image::from_file(image_path(file));
    const auto& expected = testing::per_image(set, file);
    const auto scores = model.classify(image, labels, options);
    const auto& ref = expected["classify"];
    // Where the float model is clearly decided, int8 agrees.
    if (ref[0]["score"].get<double>() - ref[1]["score"].get<double>() >= 0.05) {
      ++decided;
      EXPECT_EQ(scores[0].label, ref[0]["label"]);
    }
  }
  EXPECT_GT(decided, 0);
  std::size_t embedded = 0;
  for (const auto& entry : reference()["images"]) {
    if (entry["variant"] != "raw" || !entry.contains("image_embeds_norm")) continue;
    const std::string file = entry["file"];
    if (testing::pixels_differ_by_design(file)) continue;
    SCOPED_TRACE(file);
    ++embedded;
    EXPECT_GE(
        cosine(model.embed_image(Image::from_file(image_path(file))), entry["image_embeds_norm"]),
        0.995);
  }
  EXPECT_GE(embedded, 10u) << "the reference's image embeddings were not compared";
}

}  // namespace
}  // namespace zeroshot
