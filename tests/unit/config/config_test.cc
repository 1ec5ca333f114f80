#include "config/preprocessor_config.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::config {
namespace {

const std::string kTiny = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/";

// Expects parse to throw kModelInvalid with every fragment in the message.
void expect_invalid(const std::function<void()>& parse, const std::vector<std::string>& fragments) {
  testing::expect_error(parse, ErrorCode::kModelInvalid, fragments);
}

TEST(PreprocessorConfig, BothSizeForms) {
  auto modern = parse_preprocessor_config(util::read_file(kTiny + "preprocessor_config.json"),
                                          "preprocessor_config.json");
  auto legacy = parse_preprocessor_config(
      R"({"size": 224, "crop_size": 224, "do_center_crop": true, "do_normalize": true,
          "do_resize": true, "feature_extractor_type": "CLIPFeatureExtractor",
          "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3})",
      "preprocessor_config.json");
  for (const auto& p : {modern, legacy}) {
    EXPECT_EQ(p.shortest_edge, 224);
    EXPECT_EQ(p.crop_height, 224);
    EXPECT_EQ(p.crop_width, 224);
    EXPECT_EQ(p.resample, Resample::kBicubic);
    EXPECT_TRUE(p.do_rescale);
    EXPECT_FLOAT_EQ(p.rescale_factor, 1.0f / 255.0f);
    EXPECT_FLOAT_EQ(p.image_mean[1], 0.4578275f);
    EXPECT_FLOAT_EQ(p.image_std[2], 0.27577711f);
  }
}

TEST(PreprocessorConfig, RejectsBadValues) {
  expect_invalid([] { parse_preprocessor_config(R"({"size": {"height": 3}})", "p.json"); },
                 {"p.json", "shortest_edge"});
  expect_invalid([] { parse_preprocessor_config(R"({"image_std": [1, 0, 1]})", "p.json"); },
                 {"image_std", "positive"});
  expect_invalid([] { parse_preprocessor_config(R"({"image_mean": [1, 2]})", "p.json"); },
                 {"image_mean"});
  expect_invalid([] { parse_preprocessor_config(R"({"resample": 9})", "p.json"); }, {"resample"});
  expect_invalid([] { parse_preprocessor_config(R"({"crop_size": -1})", "p.json"); },
                 {"crop_size"});
}

}  // namespace
}  // namespace zeroshot::config
