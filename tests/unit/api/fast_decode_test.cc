// DecodeMode::kFast through the public API: Model::decode_options, and image embeddings of fast
// decodes against exact ones on the tiny CLIP fixture and a random tiny SigLIP: within cosine
// 0.9999 on camera-size pictures (made here with libvips from fixture images, with noise),
// identical where nothing is reduced.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "support/pictures.h"
#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;

const std::string kClip = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";

fs::path temp_dir() {
  return fs::temp_directory_path() / ("zs_fast_decode_api_" + std::to_string(::getpid()));
}

const Model& clip() {
  static const Model* model = new Model(Model::load({.repo = kClip}));
  return *model;
}

const Model& siglip() {
  static const Model* model = [] {
    const fs::path folder = temp_dir() / "tiny-siglip";
    testing::RandomSiglipOptions options;
    options.config = testing::tiny_siglip_config(1, 1000);
    options.tokenizer_from = std::string(ZEROSHOT_FIXTURES) + "/siglip";
    testing::write_random_siglip(folder.string(), options);
    auto* m = new Model(Model::load({.repo = folder.string()}));
    fs::remove_all(folder);  // the weights stay mapped
    return m;
  }();
  return *model;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(FastDecodeApi, DecodeOptionsFollowTheModel) {
  const DecodeOptions c = clip().decode_options(DecodeMode::kFast, 1234);
  EXPECT_EQ(c.mode, DecodeMode::kFast);
  EXPECT_EQ(c.max_pixels, 1234u);
  EXPECT_EQ(c.target.shortest_edge, 224);  // preprocessor_config.json's size
  EXPECT_EQ(c.target.width, 0);
  EXPECT_EQ(c.fast_margin, kDefaultFastMargin);
  const DecodeOptions s = siglip().decode_options(DecodeMode::kExact);
  EXPECT_EQ(s.mode, DecodeMode::kExact);
  EXPECT_EQ(s.max_pixels, DecodeOptions{}.max_pixels);
  EXPECT_EQ(s.target.shortest_edge, 0);
  EXPECT_EQ(s.target.width, 224);
  EXPECT_EQ(s.target.height, 224);
}

TEST(FastDecodeApi, NoResizeMeansNoReduction) {
  // A processor that crops without resizing takes the pixels as decoded: no target.
  const fs::path folder = temp_dir() / "no-resize-clip";
  testing::RandomClipOptions options;
  options.config = {{"text_config",
                     {{"hidden_size", 16},
                      {"intermediate_size", 24},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", 2}}},
                    {"vision_config",
                     {{"hidden_size", 32},
                      {"intermediate_size", 40},
                      {"num_hidden_layers", 1},
                      {"num_attention_heads", 2},
                      {"patch_size", 32}}},
                    {"projection_dim", 8}};
  options.preprocessor = {{"do_resize", false},
                          {"crop_size", 224},
                          {"image_mean", {0.5, 0.5, 0.5}},
                          {"image_std", {0.5, 0.5, 0.5}}};
  options.tokenizer_from = kClip;
  testing::write_random_clip(folder.string(), options);
  const Model model = Model::load({.repo = folder.string()});
  fs::remove_all(folder);
  const DecodeOptions o = model.decode_options(DecodeMode::kFast);
  EXPECT_EQ(o.target.shortest_edge, 0);
  EXPECT_EQ(o.target.width, 0);
  EXPECT_EQ(o.target.height, 0);
  const Image image = Image::from_file(kImages + "large_1600x1200_q90.jpg",
                                       model.decode_options(DecodeMode::kFast));
  EXPECT_EQ(image.reduced_by(), 1);
  EXPECT_EQ(image.width(), 1600);
}

TEST(FastDecodeApi, CameraPicturesEmbedWithinCosineOfExact) {
  struct Case {
    std::string source;
    test::PictureSpec spec;
    int reduced_by;
  };
  const std::vector<Case> cases = {
      {"large_1600x1200_q90.jpg", {}, 4},  // 4000x3000 JPEG q92
      {"scene_640x480.png", {.width = 3000, .height = 4000, .orientation = 6}, 4},  // EXIF 6
      {"scene_640x480.png", {.width = 2000, .height = 1500, .format = ".webp"}, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.source + " " + std::to_string(c.spec.width) + c.spec.format);
    const std::string bytes = test::make_picture(kImages + c.source, c.spec);
    for (const Model* model : {&clip(), &siglip()}) {
      const Image exact = Image::from_buffer(as_bytes(bytes));
      const Image fast =
          Image::from_buffer(as_bytes(bytes), model->decode_options(DecodeMode::kFast));
      EXPECT_EQ(exact.reduced_by(), 1);
      EXPECT_EQ(fast.reduced_by(), c.reduced_by);
      const float cos = cosine(model->embed_image(exact), model->embed_image(fast));
      EXPECT_GE(cos, 0.9999f);
      std::printf("%s %dx%d%s on %s: cosine(fast, exact) = %.7f\n", c.source.c_str(), c.spec.width,
                  c.spec.height, c.spec.format.c_str(), model == &clip() ? "clip" : "siglip", cos);
    }
  }
}

TEST(FastDecodeApi, SmallPicturesEmbedIdentically) {
  int compared = 0;
  for (const auto& entry : fs::directory_iterator(kImages)) {
    if (entry.path().extension() == ".json" || entry.path().filename() == "large_1600x1200_q90.jpg")
      continue;
    SCOPED_TRACE(entry.path().string());
    const Image exact = Image::from_file(entry.path().string());
    const Image fast =
        Image::from_file(entry.path().string(), clip().decode_options(DecodeMode::kFast));
    EXPECT_EQ(fast.reduced_by(), 1);
    EXPECT_TRUE(clip().embed_image(fast) == clip().embed_image(exact));
    ++compared;
  }
  EXPECT_GE(compared, 25);
}

}  // namespace
}  // namespace zeroshot
