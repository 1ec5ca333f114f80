// SigLIP 2 at a fixed resolution: a model_type "siglip" folder with a Gemma-style tokenizer.json
// (BPE with byte fallback, <eos> appended, <pad> id 0; fixtures/tokenizer_json) and no
// spiece.model, and a bilinear preprocessor (resample 2), as google/siglip2-base-patch16-224's
// layout, with random weights. Ids against HF's engine (the fixture's npm `tokenizers`
// reference); embeddings and sigmoid scores of the library and the CLI against the plain-loop
// reference (naive_siglip.h) within 1e-4 on every fixture image. NaFlex ("siglip2") is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

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
const std::string kTokenizerJson = testing::kFixtures + "/tokenizer_json/bpe_byte_fallback.json";

struct TinySiglip2 {
  fs::path folder;
  family::siglip::SiglipConfig config;
  std::unique_ptr<safetensors::File> weights;
  std::unique_ptr<testing::NaiveSiglip> naive;
  Model model;
};

TinySiglip2& tiny() {
  static TinySiglip2* t = [] {
    const fs::path folder = testing::make_temp_dir("zs_siglip2_") / "tiny-siglip2";
    testing::RandomSiglipOptions options;
    options.config = testing::tiny_siglip_config(2, 16536);  // the tokenizer.json's ids
    options.siglip2_tokenizer_json = kTokenizerJson;
    options.seed = 11;
    testing::write_random_siglip(folder.string(), options);
    auto config = family::siglip::parse_siglip_config(
        util::read_file((folder / "config.json").string()), "config.json");
    auto weights = std::make_unique<safetensors::File>(
        safetensors::File::open((folder / "model.safetensors").string()));
    auto naive = std::make_unique<testing::NaiveSiglip>(config, weights->tensors());
    return new TinySiglip2{folder, config, std::move(weights), std::move(naive),
                           Model::load({.repo = folder.string()})};
  }();
  return *t;
}

// HF's ids (padded to 64 with <pad> 0) for the texts of the fixture reference.
const std::map<std::string, std::vector<int>>& hf_ids() {
  static const auto ids = [] {
    std::map<std::string, std::vector<int>> m;
    const auto ref = nlohmann::json::parse(
        util::read_file(testing::kFixtures + "/tokenizer_json/bpe_byte_fallback.reference.json"));
    for (const auto& c : ref["cases"]) m[c["text"]] = c["ids"].get<std::vector<int>>();
    return m;
  }();
  return ids;
}

std::vector<int> unpadded(std::vector<int> ids) {
  while (!ids.empty() && ids.back() == 0) ids.pop_back();
  return ids;
}

const std::vector<std::string> kLabels = {
    "a photo of a dog", "A Photo Of A CAT", "hello world",
    "café CAFÉ naïve façade Straße İstanbul ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ"};

std::vector<float> pixels_of(const std::string& file) {
  image::PreprocessParams p;
  p.resize_height = p.resize_width = 224;
  p.resample = 2;  // bilinear, from preprocessor_config.json
  p.do_center_crop = false;
  p.mean = p.std = {0.5f, 0.5f, 0.5f};
  const auto rgb = image::decode_file(testing::image_path(file), 0);
  std::vector<float> pixels(3 * 224 * 224);
  image::preprocess(rgb.pixels.data(), rgb.width, rgb.height, p, pixels.data());
  return pixels;
}

double max_diff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    d = std::max(d, std::abs(static_cast<double>(a[i]) - b[i]));
  return d;
}

TEST(Siglip2, IdsAreHfsAndTextEmbeddingsMatchTheReference) {
  TinySiglip2& t = tiny();
  for (const auto& label : kLabels) {
    SCOPED_TRACE(label);
    const auto& hf = hf_ids().at(label);
    EXPECT_EQ(t.model.tokenize(label), unpadded(hf));
    EXPECT_LE(max_diff(t.model.embed_text(label), t.naive->text(hf)), kTolerance);
  }
}

TEST(Siglip2, EveryFixtureImageAndItsSigmoidScoresMatchTheReference) {
  TinySiglip2& t = tiny();
  std::vector<std::vector<double>> texts;
  for (const auto& label : kLabels) texts.push_back(t.naive->text(hf_ids().at(label)));
  ClassifyOptions verbatim{.prompt_template = std::nullopt};
  int images = 0;
  for (const std::string& file : testing::image_files()) {
    SCOPED_TRACE(file);
    const auto expected = t.naive->image(pixels_of(file));
    const auto img = Image::from_file(testing::image_path(file));
    EXPECT_LE(max_diff(t.model.embed_image(img), expected), kTolerance);
    for (const auto& s : t.model.classify(img, kLabels, verbatim)) {
      const auto at = std::find(kLabels.begin(), kLabels.end(), s.label) - kLabels.begin();
      const double logit = t.naive->logit(expected, texts[static_cast<std::size_t>(at)]);
      EXPECT_NEAR(s.logit, logit, kTolerance) << s.label;
      EXPECT_NEAR(s.score, testing::NaiveSiglip::sigmoid(logit), kTolerance) << s.label;
    }
    ++images;
  }
  EXPECT_GE(images, 29);
}

TEST(Siglip2, CliTokenizeAndClassify) {
  TinySiglip2& t = tiny();
  auto r = testing::run_cli({"tokenize", "--repo", t.folder.string(), "--json", kLabels[1]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["ids"].get<std::vector<int>>(),
            unpadded(hf_ids().at(kLabels[1])));
  const std::string file = "scene_640x480.png";
  const auto image = t.naive->image(pixels_of(file));
  r = testing::run_cli({"classify", "--repo", t.folder.string(), "--no-template", "--json", "--raw",
                        testing::image_path(file), kLabels[0], kLabels[2]});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& entry : nlohmann::json::parse(r.out)) {
    const std::string label = entry["label"];
    const double logit = t.naive->logit(image, t.naive->text(hf_ids().at(label)));
    EXPECT_NEAR(entry["score"].get<double>(), testing::NaiveSiglip::sigmoid(logit), kTolerance);
  }
}

// `zeroshot serve` with the SigLIP 2 folder: the reference's sigmoid scores over HTTP (prompts
// "a photo of {label}", padded with <pad> 0 as the pipeline pads them).
TEST(Siglip2, ServerClassifiesWithSigmoidScores) {
  TinySiglip2& t = tiny();
  const testing::ServeProcess server({"--repo", t.folder.string()});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const std::string file = "scene_640x480.png";
  const auto image = t.naive->image(pixels_of(file));
  auto r = server.client().Post("/v1/classify?label=dog&label=sports%20car&raw=true",
                                testing::read_binary(testing::image_path(file)), "image/png");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto scores = nlohmann::json::parse(r->body)["results"][0]["scores"];
  ASSERT_EQ(scores.size(), 2u) << r->body;
  for (const auto& s : scores) {
    auto ids = t.model.tokenize("a photo of " + s["label"].get<std::string>());
    EXPECT_EQ(ids.back(), 1);  // <eos>
    ids.resize(64, 0);
    const double logit = t.naive->logit(image, t.naive->text(ids));
    EXPECT_NEAR(s["logit"].get<double>(), logit, kTolerance);
    EXPECT_NEAR(s["score"].get<double>(), testing::NaiveSiglip::sigmoid(logit), kTolerance);
  }
}

TEST(Siglip2, NaflexIsRefusedClearly) {
  const fs::path folder = testing::make_temp_dir("zs_siglip2_naflex_");
  for (const char* name : {"model.safetensors", "preprocessor_config.json", "tokenizer.json"})
    fs::copy_file(tiny().folder / name, folder / name);
  std::ofstream(folder / "config.json") << R"({"model_type": "siglip2"})";
  try {
    Model::load({.repo = folder.string()});
    FAIL() << "loaded a NaFlex config";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("not supported yet"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("siglip2-base-patch16-224"), std::string::npos);
  }
}

}  // namespace
}  // namespace zeroshot
