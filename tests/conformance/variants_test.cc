// Other CLIP configurations: the plain-loop reference (naive_clip.h) is first checked against the
// OpenAI reference outputs on the tiny fixture, then compared with the library on random-weight
// models of configurations no fixture covers.
#include <gtest/gtest.h>

#include <filesystem>

#include "conformance/naive_clip.h"
#include "conformance/reference.h"
#include "image/preprocess.h"
#include "safetensors/safetensors.h"
#include "support/random_clip.h"
#include "util/mapped_file.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

double max_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double m = a.size() == b.size() ? 0 : 1e30;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

struct Loaded {
  family::clip::ClipConfig config;
  safetensors::File weights;
};

Loaded read_folder(const std::string& folder) {
  return {family::clip::parse_clip_config(util::read_file(folder + "/config.json"), "config.json"),
          safetensors::File::open(folder + "/model.safetensors")};
}

// [3, S, S] pixels of a reference crop PNG (already resized and cropped by Pillow).
std::vector<float> crop_pixels(const std::string& crop_png) {
  const auto image = Image::from_file(testing::kFixtures + "/" + crop_png);
  const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  const int s = image.width();
  std::vector<float> out(3 * s * s);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < s * s; ++i)
      out[c * s * s + i] = (image.rgb()[3 * i + c] * (1.0f / 255.0f) - mean[c]) / std[c];
  return out;
}

TEST(NaiveReference, AgreesWithOpenAiOnTheTinyFixture) {
  auto tiny = read_folder(testing::kTinyClip);
  testing::NaiveClip naive(tiny.config, tiny.weights.tensors());
  std::size_t texts = 0;
  for (const auto& set : testing::reference()["label_sets"])
    for (const auto& token : set["tokens"]) {
      ++texts;
      auto got = naive.text(token["hf_ids"].get<std::vector<int>>());
      EXPECT_LE(testing::max_abs_diff(std::vector<float>(got.begin(), got.end()),
                                      token["text_embeds_norm"]),
                1e-5);
    }
  EXPECT_GE(texts, 10u) << "the reference's texts were not compared";
  for (const char* file : {"scene_640x480.png", "odd_225x301.png", "pixel_1x1.png"}) {
    const auto& entry = testing::image_entry(file);
    auto got = naive.image(crop_pixels(entry["crop_png"]));
    EXPECT_LE(testing::max_abs_diff(std::vector<float>(got.begin(), got.end()),
                                    entry["image_embeds_norm"]),
              1e-5)
        << file;
  }
}

struct Variant {
  std::string name;
  json config;
  json preprocessor;  // null = modern form
  testing::WeightType weights;
};

json small_config(const std::string& act, int eos, int image_size, int patch) {
  return {{"projection_dim", 20},
          {"text_config",
           {{"hidden_size", 32},
            {"intermediate_size", 48},
            {"num_attention_heads", 4},
            {"num_hidden_layers", 2},
            {"hidden_act", act},
            {"eos_token_id", eos}}},
          {"vision_config",
           {{"hidden_size", 48},
            {"intermediate_size", 80},
            {"num_attention_heads", 3},
            {"num_hidden_layers", 2},
            {"hidden_act", act},
            {"image_size", image_size},
            {"patch_size", patch}}}};
}

std::vector<Variant> variants() {
  return {
      {"gelu_patch16_image64_eos49407", small_config("gelu", 49407, 64, 16), nullptr,
       testing::WeightType::kF32},
      {"quickgelu_f16_image96_eos2", small_config("quick_gelu", 2, 96, 32), nullptr,
       testing::WeightType::kF16},
      {"gelutanh_bf16_legacy_preprocessor", small_config("gelu_pytorch_tanh", 49407, 64, 32),
       json{{"size", 64},
            {"crop_size", 64},
            {"do_center_crop", true},
            {"do_normalize", true},
            {"do_resize", true},
            {"resample", 3},
            {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
            {"image_std", {0.26862954, 0.26130258, 0.27577711}},
            {"feature_extractor_type", "CLIPFeatureExtractor"}},
       testing::WeightType::kBF16},
  };
}

class ConfigVariant : public ::testing::TestWithParam<Variant> {};

TEST_P(ConfigVariant, LibraryMatchesPlainReference) {
  const auto& v = GetParam();
  const auto folder = (fs::temp_directory_path() / ("zs_variant_" + v.name)).string();
  fs::remove_all(folder);
  testing::write_random_clip(folder, {.config = v.config,
                                      .preprocessor = v.preprocessor,
                                      .weight_type = v.weights,
                                      .seed = 7,
                                      .tokenizer_from = testing::kTinyClip});
  const auto model = Model::load({.repo = folder});
  auto loaded = read_folder(folder);
  testing::NaiveClip naive(loaded.config, loaded.weights.tensors());

  for (const char* text : {"a photo of a dog", "an empty white room", "x"}) {
    EXPECT_LE(max_diff(model.embed_text(text), naive.text(model.tokenize(text))), 1e-4) << text;
  }
  const int side = loaded.config.vision.image_size;
  image::PreprocessParams params;
  params.shortest_edge = params.crop_height = params.crop_width = side;
  params.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  params.std = {0.26862954f, 0.26130258f, 0.27577711f};
  for (const char* file : {"scene_640x480.png", "tall_20x1000.png"}) {
    const auto image = Image::from_file(testing::image_path(file));
    std::vector<float> pixels(3 * side * side);
    image::preprocess(image.rgb().data(), image.width(), image.height(), params, pixels.data());
    EXPECT_LE(max_diff(model.embed_image(image), naive.image(pixels)), 1e-4) << file;
  }
  fs::remove_all(folder);
}

INSTANTIATE_TEST_SUITE_P(Configs, ConfigVariant, ::testing::ValuesIn(variants()),
                         [](const auto& info) { return info.param.name; });

TEST(ConfigVariant, EosTwoAndEos49407PoolTheSameToken) {
  // Both rules land on the first <|endoftext|> for tokenizer output (no id exceeds 49407).
  std::vector<std::vector<float>> embeddings;
  for (int eos : {2, 49407}) {
    const auto folder = (fs::temp_directory_path() / ("zs_eos_" + std::to_string(eos))).string();
    fs::remove_all(folder);
    testing::write_random_clip(folder, {.config = small_config("quick_gelu", eos, 64, 32),
                                        .seed = 3,
                                        .tokenizer_from = testing::kTinyClip});
    embeddings.push_back(Model::load({.repo = folder}).embed_text("a photo of a cat"));
    fs::remove_all(folder);
  }
  EXPECT_EQ(embeddings[0], embeddings[1]);
}

}  // namespace
}  // namespace zeroshot
