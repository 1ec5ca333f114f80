// Model::prepare_labels and scoring against a LabelSet, on the tiny CLIP fixture and a random
// tiny SigLIP: the set's rows are the text embeddings (the ensemble's normalised mean), its scores
// are the ones recomputed here from the embeddings (softmax or sigmoid of scale * cosine + bias)
// and bit-identical to classify()'s with labels; another model's set is refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

const std::string kClip = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";

const Model& siglip() {
  static const Model* model = [] {
    const fs::path folder =
        fs::temp_directory_path() / ("zs_label_set_" + std::to_string(::getpid())) / "tiny-siglip";
    testing::RandomSiglipOptions options;
    options.config = testing::tiny_siglip_config(1, 1000);
    options.tokenizer_from = std::string(ZEROSHOT_FIXTURES) + "/siglip";
    testing::write_random_siglip(folder.string(), options);
    auto* m = new Model(Model::load({.repo = folder.string()}));
    fs::remove_all(folder.parent_path());  // the weights stay mapped
    return m;
  }();
  return *model;
}

void expect_identical(const std::vector<LabelScore>& got, const std::vector<LabelScore>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].label, want[i].label);
    EXPECT_EQ(got[i].score, want[i].score);
    EXPECT_EQ(got[i].logit, want[i].logit);
    EXPECT_EQ(got[i].cosine, want[i].cosine);
  }
}

// The prompts of one template, as ClassifyOptions describes them.
std::string prompt(const std::string& tmpl, const std::string& label) {
  std::string p = tmpl;
  p.replace(p.find("{label}"), 7, label);
  return p;
}

// Checks a prepared set against embed_text and its scores against a recomputation.
void check_model(const Model& model) {
  const std::vector<std::string> labels = {"a dog", "a cat", "a red car", "a house"};
  const std::vector<Image> images = {Image::from_file(kImages + "scene_640x480_q92.jpg"),
                                     Image::from_file(kImages + "exact_224x224.png")};
  const std::vector<ClassifyOptions> option_sets = {
      {},
      {.prompt_template = std::nullopt},
      {.prompt_template = "art of {label}", .top_k = 2},
      {.templates = {"a photo of {label}", "a drawing of {label}", "{label}!"}, .top_k = 3}};
  const auto dim = static_cast<std::size_t>(model.embedding_dim());
  for (const auto& options : option_sets) {
    SCOPED_TRACE(options.templates.size());
    const LabelSet set = model.prepare_labels(labels, options);
    ASSERT_EQ(set.labels(), labels);
    ASSERT_EQ(set.size(), labels.size());
    ASSERT_EQ(set.embedding_dim(), model.embedding_dim());
    ASSERT_EQ(set.embeddings().size(), labels.size() * dim);
    // Rows: the prompt's embedding, or the normalised mean of the ensemble's.
    std::vector<std::string> templates = options.templates;
    if (templates.empty() && options.prompt_template) templates = {*options.prompt_template};
    for (std::size_t l = 0; l < labels.size(); ++l) {
      const auto row = set.embedding(l);
      if (templates.size() <= 1) {
        const auto text =
            model.embed_text(templates.empty() ? labels[l] : prompt(templates[0], labels[l]));
        ASSERT_TRUE(std::equal(row.begin(), row.end(), text.begin(), text.end()));
        continue;
      }
      std::vector<double> mean(dim, 0.0);
      for (const auto& t : templates) {
        const auto text = model.embed_text(prompt(t, labels[l]));
        for (std::size_t k = 0; k < dim; ++k) mean[k] += text[k];
      }
      double norm = 0;
      for (double v : mean) norm += v * v;
      for (std::size_t k = 0; k < dim; ++k)
        EXPECT_NEAR(row[k], mean[k] / std::sqrt(norm), 1e-6) << l << " " << k;
    }
    // Scores: bit-identical to the labels' path, and as recomputed from the embeddings.
    const auto batch = model.classify_batch(images, set, options.top_k);
    const auto old_batch = model.classify_batch(images, labels, options);
    ASSERT_EQ(batch.size(), images.size());
    for (std::size_t i = 0; i < images.size(); ++i) {
      expect_identical(batch[i], old_batch[i]);
      expect_identical(model.classify(images[i], set, options.top_k),
                       model.classify(images[i], labels, options));
      const auto embedding = model.embed_image(images[i]);
      expect_identical(model.classify_embedding(embedding, set, options.top_k), batch[i]);
      std::vector<double> logits(labels.size());
      for (std::size_t l = 0; l < labels.size(); ++l)
        logits[l] = model.logit_scale() * cosine(embedding, set.embedding(l)) + model.logit_bias();
      double sum = 0;
      for (double z : logits) sum += std::exp(z);
      const std::size_t kept = options.top_k > 0 ? std::size_t(options.top_k) : labels.size();
      ASSERT_EQ(batch[i].size(), kept);
      for (std::size_t r = 0; r < kept; ++r) {
        const auto& s = batch[i][r];
        const auto l = static_cast<std::size_t>(std::find(labels.begin(), labels.end(), s.label) -
                                                labels.begin());
        ASSERT_LT(l, labels.size());
        const double want = model.score_kind() == ScoreKind::kSigmoid
                                ? 1.0 / (1.0 + std::exp(-logits[l]))
                                : std::exp(logits[l]) / sum;
        EXPECT_NEAR(s.score, want, 1e-5) << s.label;
        EXPECT_NEAR(s.logit, logits[l], 1e-4) << s.label;
        if (r > 0) {
          EXPECT_GE(batch[i][r - 1].score, s.score);
        }
      }
    }
  }
}

TEST(LabelSet, ClipScoresEqualTheLabelsPathAndTheEmbeddings) {
  check_model(Model::load({.repo = kClip}));
}

TEST(LabelSet, SiglipScoresEqualTheLabelsPathAndTheEmbeddings) {
  ASSERT_EQ(siglip().score_kind(), ScoreKind::kSigmoid);
  check_model(siglip());
}

TEST(LabelSet, AnotherModelsSetIsRefusedACopysIsNot) {
  const Model a = Model::load({.repo = kClip});
  const Model b = Model::load({.repo = kClip});  // the same folder, another load
  const Model a_copy = a;
  const std::vector<std::string> labels = {"a dog", "a cat"};
  const LabelSet set = a.prepare_labels(labels);
  const LabelSet set_copy = set;
  const Image image = Image::from_file(kImages + "exact_224x224.png");
  expect_identical(a_copy.classify(image, set_copy), a.classify(image, set));
  expect_error([&] { b.classify(image, set); }, ErrorCode::kInvalidArgument,
               {"another model", "prepare_labels"});
  expect_error([&] { b.classify_embedding(b.embed_image(image), set); },
               ErrorCode::kInvalidArgument, {"another model"});
  expect_error([&] { siglip().classify_batch(std::vector<Image>{image}, set); },
               ErrorCode::kInvalidArgument, {"another model"});
  // The set outlives its model: still refused by a new one, never mistaken for it.
  std::optional<LabelSet> orphan;
  {
    const Model gone = Model::load({.repo = kClip});
    orphan = gone.prepare_labels(labels);
  }
  const Model c = Model::load({.repo = kClip});
  EXPECT_EQ(orphan->size(), 2u);
  expect_error([&] { c.classify(image, *orphan); }, ErrorCode::kInvalidArgument, {"another model"});
}

TEST(LabelSet, BadLabelsTopKAndSizesAreErrors) {
  const Model model = Model::load({.repo = kClip});
  const std::vector<std::string> labels = {"a dog", "a cat"};
  expect_error([&] { model.prepare_labels({}); }, ErrorCode::kInvalidArgument, {"no labels"});
  expect_error([&] { model.prepare_labels(labels, {.prompt_template = "no placeholder"}); },
               ErrorCode::kInvalidArgument, {"no {label} placeholder"});
  const LabelSet set = model.prepare_labels(labels);
  const Image image = Image::from_file(kImages + "exact_224x224.png");
  expect_error([&] { model.classify(image, set, -1); }, ErrorCode::kInvalidArgument, {"top_k"});
  const std::vector<float> short_embedding(static_cast<std::size_t>(model.embedding_dim()) - 1);
  expect_error([&] { model.classify_embedding(short_embedding, set); }, ErrorCode::kInvalidArgument,
               {"image embedding has"});
  expect_error([&] { set.embedding(2); }, ErrorCode::kInvalidArgument, {"label 2"});
}

TEST(Cosine, AccumulatesInDoubleClampsAndRefusesOtherSizes) {
  // 1e8 + 1 - 1e8 in float order loses the 1; a double sum keeps it.
  const std::vector<float> a = {1e4f, 1.0f, -1e4f};
  const std::vector<float> b = {1e4f, 1.0f, 1e4f};
  EXPECT_EQ(cosine(a, b), 1.0f);  // 1e8 + 1 - 1e8 = 1, clamped to 1
  const std::vector<float> c = {0.6f, 0.8f};
  const std::vector<float> d = {0.8f, 0.6f};
  EXPECT_FLOAT_EQ(cosine(c, d), 0.96f);
  const std::vector<float> over = {1.0f, 1.0f};
  EXPECT_EQ(cosine(over, over), 1.0f);  // 2, clamped
  EXPECT_EQ(cosine(std::vector<float>{-1.0f, -1.0f}, over), -1.0f);
  expect_error([&] { cosine(c, std::vector<float>{1.0f}); }, ErrorCode::kInvalidArgument,
               {"different sizes"});
}

TEST(Cosine, ModelSimilarityIsTheCosineOfTheEmbeddings) {
  const Model model = Model::load({.repo = kClip});
  const Image a = Image::from_file(kImages + "exact_224x224.png");
  const Image b = Image::from_file(kImages + "scene_640x480_q92.jpg");
  EXPECT_EQ(model.similarity(a, b), cosine(model.embed_image(a), model.embed_image(b)));
}

}  // namespace
}  // namespace zeroshot
