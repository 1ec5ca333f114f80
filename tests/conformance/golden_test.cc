// Golden tests of the public library against the reference outputs of OpenAI's CLIP code on the
// tiny-clip fixture, at the tolerances of tests/fixtures/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "conformance/label_set_options.h"
#include "conformance/reference.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

using testing::image_entry;
using testing::image_path;
using testing::max_abs_diff;
using testing::reference;

constexpr double kEmbeddingTol = 1e-4;
constexpr double kLogitTol = 1e-2;
constexpr double kScoreTol = 1e-4;

const Model& tiny_model() {
  static const Model model = Model::load({.repo = testing::kTinyClip});
  return model;
}

// Image embeddings are cached per file: the label-set tests reuse them.
const std::vector<float>& image_embedding(const std::string& file) {
  static std::map<std::string, std::vector<float>> cache;
  auto it = cache.find(file);
  if (it == cache.end())
    it = cache.emplace(file, tiny_model().embed_image(Image::from_file(image_path(file)))).first;
  return it->second;
}

class GoldenImage : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenImage, ImageEmbeddingMatchesReference) {
  const std::string file = GetParam();
  const auto& entry = image_entry(file);
  const auto& embedding = image_embedding(file);
  ASSERT_EQ(embedding.size(), entry["image_embeds_norm"].size());
  if (testing::pixels_differ_by_design(file)) {
    // 16-bit grey: Pillow 9.4 clamps to 255, we take the high byte (fixtures README; the decoding
    // itself: tests/unit/image/image_test.cc). The embeddings must differ, or this exception and
    // the documents that state it are stale.
    EXPECT_GT(max_abs_diff(embedding, entry["image_embeds_norm"]), kEmbeddingTol) << file;
    return;
  }
  EXPECT_LE(max_abs_diff(embedding, entry["image_embeds_norm"]), kEmbeddingTol) << file;
}

// Images whose pixels differ from Pillow's by design: their scores against the reference's text
// embeddings and our own image embedding (softmax of exp(logit_scale) * cosine).
void expect_scores_from_reference_texts(const std::string& file) {
  const auto image = Image::from_file(image_path(file));
  const auto& img = image_embedding(file);
  for (const auto& set : reference()["label_sets"]) {
    SCOPED_TRACE(file + " / " + set["name"].get<std::string>());
    const std::vector<std::string> labels = set["labels"];
    const ClassifyOptions options = testing::classify_options(set);
    std::vector<double> logits;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto& text = set["tokens"][i]["text_embeds_norm"];
      double cosine = 0;
      for (std::size_t k = 0; k < img.size(); ++k) cosine += img[k] * text[k].get<double>();
      logits.push_back(tiny_model().logit_scale() * cosine);
    }
    const double top = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double l : logits) sum += std::exp(l - top);
    const auto scores = tiny_model().classify(image, labels, options);
    ASSERT_EQ(scores.size(), labels.size());
    for (const auto& s : scores) {
      const auto i = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), s.label) -
                                              labels.begin());
      ASSERT_LT(i, labels.size()) << s.label;
      EXPECT_NEAR(s.score, std::exp(logits[i] - top) / sum, kScoreTol) << s.label;
    }
  }
}

TEST_P(GoldenImage, ClassifyMatchesReferenceForEveryLabelSet) {
  const std::string file = GetParam();
  if (testing::pixels_differ_by_design(file)) return expect_scores_from_reference_texts(file);
  const auto image = Image::from_file(image_path(file));
  ASSERT_GE(reference()["label_sets"].size(), 2u);
  for (const auto& set : reference()["label_sets"]) {
    SCOPED_TRACE(file + " / " + set["name"].get<std::string>());
    const std::vector<std::string> labels = set["labels"];
    const ClassifyOptions options = testing::classify_options(set);
    const auto& expected = testing::per_image(set, file);

    // Logits = exp(logit_scale) * cosine, from the public embeddings.
    const auto& img = image_embedding(file);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const auto text = tiny_model().embed_text(set["texts"][i].get<std::string>());
      double cosine = 0;
      for (std::size_t k = 0; k < img.size(); ++k) cosine += img[k] * text[k];
      EXPECT_NEAR(tiny_model().logit_scale() * cosine, expected["logits"][i].get<double>(),
                  kLogitTol);
    }

    const auto scores = tiny_model().classify(image, labels, options);
    ASSERT_EQ(scores.size(), labels.size());
    double sum = 0;
    for (const auto& s : scores) sum += s.score;
    EXPECT_NEAR(sum, 1.0, 1e-5);
    const auto& ref = expected["classify"];
    for (std::size_t i = 0; i < scores.size(); ++i) {
      // Same order wherever neighbouring reference scores differ by more than the tolerance.
      const auto it = std::find_if(ref.begin(), ref.end(),
                                   [&](const auto& r) { return r["label"] == scores[i].label; });
      ASSERT_NE(it, ref.end());
      EXPECT_NEAR(scores[i].score, (*it)["score"].get<double>(), kScoreTol) << scores[i].label;
      if (i + 1 < scores.size() &&
          ref[i]["score"].get<double>() - ref[i + 1]["score"].get<double>() > kScoreTol) {
        EXPECT_EQ(scores[i].label, ref[i]["label"].get<std::string>());
      }
    }
    if (ref.size() < 2 ||
        ref[0]["score"].get<double>() - ref[1]["score"].get<double>() > kScoreTol) {
      EXPECT_EQ(tiny_model().label(image, labels, options), expected["top_label"]);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFixtureImages, GoldenImage, ::testing::ValuesIn(testing::image_files()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

TEST(Golden, TextEmbeddingsAndTokensForEveryLabelSet) {
  ASSERT_GE(reference()["label_sets"].size(), 2u);
  for (const auto& set : reference()["label_sets"]) {
    ASSERT_FALSE(set["tokens"].empty()) << set["name"];
    for (const auto& token : set["tokens"]) {
      const std::string text = token["text"];
      SCOPED_TRACE(text);
      EXPECT_EQ(tiny_model().tokenize(text), token["hf_ids"].get<std::vector<int>>());
      EXPECT_LE(max_abs_diff(tiny_model().embed_text(text), token["text_embeds_norm"]),
                kEmbeddingTol);
    }
  }
}

TEST(Golden, SimilarityOfImagePairs) {
  std::size_t compared = 0;
  for (const auto& pair : reference()["image_pairs"]) {
    const std::string a = pair["a"], b = pair["b"];
    if (b.find('@') != std::string::npos) continue;  // an unrotated reading: we always apply EXIF
    SCOPED_TRACE(a + " ~ " + b);
    ++compared;
    const float s =
        tiny_model().similarity(Image::from_file(image_path(a)), Image::from_file(image_path(b)));
    EXPECT_NEAR(s, std::min(1.0, pair["cosine"].get<double>()), kScoreTol);
    EXPECT_LE(s, 1.0f);
    EXPECT_GE(s, -1.0f);
  }
  EXPECT_GE(compared, 5u) << "the reference's image pairs were not compared";
}

TEST(Golden, FreeFunctionsShareOneCachedModel) {
  const auto image = Image::from_file(image_path("scene_640x480.png"));
  const std::vector<std::string> labels = {"a dog", "a cat", "a horse"};
  const Options options{.repo = testing::kTinyClip};
  const auto& expected = testing::per_image(reference()["label_sets"][0], "scene_640x480.png");
  EXPECT_EQ(label(image, labels, options), expected["top_label"]);
  EXPECT_NEAR(classify(image, labels, options)[0].score, expected["classify"][0]["score"],
              kScoreTol);
  EXPECT_NEAR(similarity(image, image, options), 1.0, 1e-5);
  // One load: both calls hand out the same shared model (the same folder string object).
  EXPECT_EQ(&cached_model(options).folder(), &cached_model(options).folder());
}

TEST(Golden, LabelsComeBackAsGivenNotAsPrompts) {
  const auto image = Image::from_file(image_path("scene_640x480.png"));
  const std::vector<std::string> labels = {"dog", "cat"};
  const auto scores = tiny_model().classify(image, labels, {.prompt_template = "a {label}!"});
  // One score per label, each label exactly as given (never "a dog!"), none twice.
  ASSERT_EQ(scores.size(), labels.size());
  std::multiset<std::string> got;
  for (const auto& s : scores) got.insert(s.label);
  EXPECT_EQ(got, (std::multiset<std::string>{"cat", "dog"}));
}

}  // namespace
}  // namespace zeroshot
