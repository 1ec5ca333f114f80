// SigLIP through the library and the CLI against the plain-loop reference written from
// modeling_siglip.py (naive_siglip.h), on random-weight checkpoints in the HF layout
// (tests/support/random_clip.h): image embeddings for every fixture image, text embeddings and
// sigmoid scores, all within 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conformance/naive_siglip.h"
#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "e2e/serve_process.h"
#include "family/siglip/siglip_config.h"
#include "image/decode.h"
#include "image/preprocess.h"
#include "safetensors/safetensors.h"
#include "support/fake_hub.h"
#include "support/random_clip.h"
#include "util/mapped_file.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;
const std::string kSiglipFixtures = testing::kFixtures + "/siglip";

// A small SigLIP: every width different (text 32 wide with a head to 40, vision 40 wide with 4
// heads of 10, MLPs 48 and 56), patch 16 on 224 as the released base models, 64 text positions,
// the fixture tokenizer's 1000 pieces.
struct TinySiglip {
  fs::path folder;
  family::siglip::SiglipConfig config;
  std::unique_ptr<safetensors::File> weights;
  std::unique_ptr<testing::NaiveSiglip> naive;
  Model model;
};

TinySiglip& tiny() {
  static TinySiglip* t = [] {
    const fs::path folder = testing::make_temp_dir("zs_siglip_") / "tiny-siglip";
    testing::RandomSiglipOptions options;
    options.config = testing::tiny_siglip_config(2, 1000);
    options.tokenizer_from = kSiglipFixtures;
    options.seed = 7;
    testing::write_random_siglip(folder.string(), options);
    auto config = family::siglip::parse_siglip_config(
        util::read_file((folder / "config.json").string()), "config.json");
    auto weights = std::make_unique<safetensors::File>(
        safetensors::File::open((folder / "model.safetensors").string()));
    auto naive = std::make_unique<testing::NaiveSiglip>(config, weights->tensors());
    return new TinySiglip{folder, config, std::move(weights), std::move(naive),
                          Model::load({.repo = folder.string()})};
  }();
  return *t;
}

image::PreprocessParams siglip_params() {
  image::PreprocessParams p;
  p.resize_height = p.resize_width = 224;
  p.do_center_crop = false;
  p.mean = p.std = {0.5f, 0.5f, 0.5f};
  return p;
}

// The pixels the library's preprocessing gives (tested against Pillow in image_test.cc).
std::vector<float> pixels_of(const std::string& file) {
  const auto rgb = image::decode_file(testing::image_path(file), 0);
  std::vector<float> pixels(3 * 224 * 224);
  image::preprocess(rgb.pixels.data(), rgb.width, rgb.height, siglip_params(), pixels.data());
  return pixels;
}

// The reference's L2-normalised embedding of a fixture image (computed once per file).
const std::vector<double>& naive_image(const std::string& file) {
  static std::map<std::string, std::vector<double>> cache;
  auto it = cache.find(file);
  if (it == cache.end()) it = cache.emplace(file, tiny().naive->image(pixels_of(file))).first;
  return it->second;
}

std::vector<int> padded_ids(const Model& model, const std::string& text) {
  std::vector<int> ids = model.tokenize(text);
  ids.resize(64, 1);  // </s> pads, as the pipeline's padding="max_length"
  return ids;
}

double max_diff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

const std::vector<std::string> kLabels = {"a dog", "a cat", "a sports car", "Eiffel tower", ""};

TEST(Siglip, ImageEmbeddingOfEveryFixtureImageMatchesTheReference) {
  TinySiglip& t = tiny();
  EXPECT_EQ(t.model.score_kind(), ScoreKind::kSigmoid);
  EXPECT_EQ(t.model.embedding_dim(), 40);
  int images = 0;
  for (const std::string& file : testing::image_files()) {
    SCOPED_TRACE(file);
    const auto& expected = naive_image(file);
    const auto got = t.model.embed_image(Image::from_file(testing::image_path(file)));
    EXPECT_LE(max_diff(got, expected), kTolerance);
    ++images;
  }
  EXPECT_GE(images, 29);
}

TEST(Siglip, TextEmbeddingsMatchTheReference) {
  TinySiglip& t = tiny();
  std::vector<std::string> texts = kLabels;
  std::string long_text = "a photo of";
  for (int i = 0; i < 100; ++i) long_text += " the dog";
  texts.push_back(long_text);  // truncated to 64 with </s> last
  const auto batch = t.model.embed_texts(texts);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    SCOPED_TRACE(texts[i]);
    const auto expected = t.naive->text(padded_ids(t.model, texts[i]));
    EXPECT_LE(max_diff(t.model.embed_text(texts[i]), expected), kTolerance);
    EXPECT_LE(max_diff(batch[i], expected), kTolerance);
  }
  const auto truncated = t.model.tokenize(texts.back());
  EXPECT_EQ(truncated.size(), 64u);
  EXPECT_EQ(truncated.back(), 1);
}

TEST(Siglip, ClassifyGivesIndependentSigmoidScoresSorted) {
  TinySiglip& t = tiny();
  ClassifyOptions verbatim{.prompt_template = std::nullopt};
  std::vector<std::vector<double>> texts;
  for (const auto& label : kLabels) texts.push_back(t.naive->text(padded_ids(t.model, label)));
  for (const std::string& file : testing::image_files()) {
    SCOPED_TRACE(file);
    const auto& image = naive_image(file);
    const auto scores =
        t.model.classify(Image::from_file(testing::image_path(file)), kLabels, verbatim);
    ASSERT_EQ(scores.size(), kLabels.size());
    double sum = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) {
      const auto at = std::find(kLabels.begin(), kLabels.end(), scores[i].label) - kLabels.begin();
      const double logit = t.naive->logit(image, texts[static_cast<std::size_t>(at)]);
      EXPECT_NEAR(scores[i].logit, logit, kTolerance) << scores[i].label;
      EXPECT_NEAR(scores[i].score, testing::NaiveSiglip::sigmoid(logit), kTolerance);
      if (i > 0) {
        EXPECT_GE(scores[i - 1].score, scores[i].score);
      }
      sum += scores[i].score;
    }
    // Independent per label: adding a label changes no other label's score.
    const auto one = t.model.classify(Image::from_file(testing::image_path(file)),
                                      std::vector<std::string>{kLabels[0]}, verbatim);
    const auto same = std::find_if(scores.begin(), scores.end(),
                                   [](const LabelScore& s) { return s.label == kLabels[0]; });
    EXPECT_FLOAT_EQ(one[0].score, same->score);
    EXPECT_GT(std::abs(sum - 1.0), 1e-3) << "sigmoid scores are not a distribution";
  }
}

TEST(Siglip, CliClassifyAndTokenizeMatchTheReference) {
  TinySiglip& t = tiny();
  const std::string file = "scene_640x480.png";
  const auto& image = naive_image(file);
  auto r =
      testing::run_cli({"classify", "--repo", t.folder.string(), "--no-template", "--json", "--raw",
                        testing::image_path(file), kLabels[0], kLabels[1], kLabels[2]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  ASSERT_EQ(json.size(), 3u);
  for (const auto& entry : json) {
    const std::string label = entry["label"];
    const double logit = t.naive->logit(image, t.naive->text(padded_ids(t.model, label)));
    EXPECT_NEAR(entry["score"].get<double>(), testing::NaiveSiglip::sigmoid(logit), kTolerance);
    EXPECT_NEAR(entry["logit"].get<double>(), logit, kTolerance);
  }
  r = testing::run_cli(
      {"embed", "--repo", t.folder.string(), "--json", "--image", testing::image_path(file)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto embedding = nlohmann::json::parse(r.out)[0]["embedding"].get<std::vector<float>>();
  EXPECT_LE(max_diff(embedding, image), kTolerance);
  r = testing::run_cli({"tokenize", "--repo", t.folder.string(), "--json", "A photo of a DOG!"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["ids"].get<std::vector<int>>(),
            t.model.tokenize("a photo of a dog"));
}

// Every fixture image through the CLI's batch runs (classify -l, embed), against the reference.
TEST(Siglip, CliBatchRunsMatchTheReferenceForEveryImage) {
  TinySiglip& t = tiny();
  const std::vector<std::string> labels = {"dog", "cat", "sports car"};
  std::map<std::string, std::vector<double>> texts;  // label -> reference text embedding
  for (const auto& label : labels)
    texts[label] = t.naive->text(padded_ids(t.model, "a photo of " + label));
  std::map<std::string, std::string> file_of;  // path -> fixture file
  std::vector<std::string> classify = {"classify", "--repo", t.folder.string()};
  for (const auto& label : labels) classify.insert(classify.end(), {"-l", label});
  std::vector<std::string> embed = {"embed", "--repo", t.folder.string()};
  for (const auto& file : testing::image_files()) {
    file_of[testing::image_path(file)] = file;
    classify.push_back(testing::image_path(file));
    embed.push_back(testing::image_path(file));
  }
  const auto scores = testing::run_cli(classify);
  ASSERT_EQ(scores.exit_code, 0) << scores.err;
  std::istringstream lines(scores.out);
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto json = nlohmann::json::parse(line);
    const std::string file = file_of.at(json["image"]);
    SCOPED_TRACE(file);
    ASSERT_EQ(json["results"].size(), labels.size()) << line;
    for (const auto& result : json["results"]) {
      const double logit = t.naive->logit(naive_image(file), texts.at(result["label"]));
      EXPECT_NEAR(result["score"].get<double>(), testing::NaiveSiglip::sigmoid(logit), kTolerance);
    }
  }
  EXPECT_EQ(n, file_of.size());
  const auto embeddings = testing::run_cli(embed);
  ASSERT_EQ(embeddings.exit_code, 0) << embeddings.err;
  std::istringstream rows(embeddings.out);
  n = 0;
  for (std::string line; std::getline(rows, line); ++n) {
    const auto json = nlohmann::json::parse(line);
    const std::string file = file_of.at(json["image"]);
    EXPECT_LE(max_diff(json["embedding"].get<std::vector<float>>(), naive_image(file)), kTolerance)
        << file;
  }
  EXPECT_EQ(n, file_of.size());
}

TEST(Siglip, TextCacheGivesTheComputedEmbeddings) {
  TinySiglip& t = tiny();
  const Model uncached = Model::load({.repo = t.folder.string(), .text_cache_entries = 0});
  const std::vector<std::string> texts = {"a dog", "a cat", "a dog"};
  const auto first = t.model.embed_texts(texts);
  const auto second = t.model.embed_texts(texts);  // from the cache
  const auto fresh = uncached.embed_texts(texts);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(first[i], second[i]);
    EXPECT_EQ(first[i], fresh[i]);
  }
}

TEST(Siglip, Int8StaysCloseToFloat32) {
  TinySiglip& t = tiny();
  const Model int8 = Model::load({.repo = t.folder.string(), .precision = Precision::kInt8});
  for (const std::string file : {"scene_640x480.png", "noise_257x263.png", "odd_301x225.png"}) {
    const Image image = Image::from_file(testing::image_path(file));
    const auto a = t.model.embed_image(image), b = int8.embed_image(image);
    double cos = 0;
    for (std::size_t i = 0; i < a.size(); ++i) cos += static_cast<double>(a[i]) * b[i];
    EXPECT_GT(cos, 0.99) << file;
  }
}

TEST(Siglip, UnknownModelTypeNamesTheSupportedOnes) {
  const fs::path folder = testing::make_temp_dir("zs_siglip_bad_");
  for (const char* name : {"model.safetensors", "preprocessor_config.json", "spiece.model"})
    fs::copy_file(tiny().folder / name, folder / name);
  std::ofstream(folder / "config.json") << R"({"model_type": "blip"})";
  try {
    Model::load({.repo = folder.string()});
    FAIL() << "loaded a blip config";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("\"blip\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("clip, siglip"), std::string::npos) << e.what();
  }
}

TEST(Siglip, PreprocessorOfAnotherSizeIsAModelError) {
  const fs::path folder = testing::make_temp_dir("zs_siglip_pre_");
  for (const char* name : {"config.json", "model.safetensors", "spiece.model"})
    fs::copy_file(tiny().folder / name, folder / name);
  std::ofstream(folder / "preprocessor_config.json")
      << R"({"size": {"height": 256, "width": 256}})";
  try {
    Model::load({.repo = folder.string()});
    FAIL() << "loaded a 256x256 preprocessor for a 224 model";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("preprocessor_config.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("224x224"), std::string::npos) << e.what();
  }
}

// `zeroshot serve` with a SigLIP model: the same sigmoid scores as the reference, over HTTP.
TEST(Siglip, ServerClassifiesWithSigmoidScores) {
  TinySiglip& t = tiny();
  const testing::ServeProcess server({"--repo", t.folder.string()});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const std::vector<std::string> labels = {"a dog", "a cat"};
  for (const std::string file : {"scene_640x480.png", "small_100x80.png"}) {
    SCOPED_TRACE(file);
    auto r = server.client().Post("/v1/classify?label=a%20dog&label=a%20cat&raw=true",
                                  testing::read_binary(testing::image_path(file)), "image/png");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const auto scores = nlohmann::json::parse(r->body)["results"][0]["scores"];
    ASSERT_EQ(scores.size(), labels.size()) << r->body;
    for (const auto& s : scores) {
      const std::string label = s["label"];
      const double logit = t.naive->logit(
          naive_image(file), t.naive->text(padded_ids(t.model, "a photo of " + label)));
      EXPECT_NEAR(s["logit"].get<double>(), logit, kTolerance);
      EXPECT_NEAR(s["score"].get<double>(), testing::NaiveSiglip::sigmoid(logit), kTolerance);
    }
  }
}

}  // namespace
}  // namespace zeroshot
