// Bad-input classes for config.json and preprocessor_config.json (docs/ERRORS.md, "Models"):
// malformed or truncated JSON and absurd values. Every case must be kModelInvalid with a message
// that names the file and the offending field.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/preprocessor_config.h"
#include "family/clip/clip_config.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::config {
namespace {

using family::clip::parse_clip_config;

const std::string kTinyConfig =
    util::read_file(std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/config.json");
const std::string kTinyPreprocessor =
    util::read_file(std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/preprocessor_config.json");

std::string clip_error(const std::string& json) {
  try {
    parse_clip_config(json, "/m/config.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
    EXPECT_NE(std::string(e.what()).find("/m/config.json"), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << json;
  return "";
}

std::string preprocessor_error(const std::string& json) {
  try {
    parse_preprocessor_config(json, "/m/preprocessor_config.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
    EXPECT_NE(std::string(e.what()).find("/m/preprocessor_config.json"), std::string::npos)
        << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << json;
  return "";
}

#define EXPECT_MENTIONS(message, fragment) \
  EXPECT_NE((message).find(fragment), std::string::npos) << (message) << " lacks " << (fragment)

TEST(ConfigBadInput, EveryTruncationOfTheFixtureIsRejected) {
  // Each proper prefix of a JSON object is invalid JSON; none may crash or be accepted.
  for (std::size_t n = 0; n < kTinyConfig.size(); ++n) {
    // The fixture ends with "}" (and maybe a newline); prefixes shorter than that are truncated.
    if (kTinyConfig.find('}', n) == std::string::npos) break;
    std::string message = clip_error(kTinyConfig.substr(0, n));
    ASSERT_FALSE(message.empty()) << "prefix of " << n << " bytes";
  }
  for (std::size_t n = 0; n + 1 < kTinyPreprocessor.rfind('}') + 1; ++n)
    ASSERT_FALSE(preprocessor_error(kTinyPreprocessor.substr(0, n)).empty());
}

TEST(ConfigBadInput, MalformedJson) {
  EXPECT_MENTIONS(clip_error(""), "not valid JSON");
  EXPECT_MENTIONS(clip_error("\xff\xfe{}"), "not valid JSON");
  EXPECT_MENTIONS(clip_error("{\"model_type\": \"cl\xffip\"}"), "not valid JSON");
  EXPECT_MENTIONS(clip_error("{} {}"), "not valid JSON");
  EXPECT_MENTIONS(clip_error("null"), "not a JSON object");
  EXPECT_MENTIONS(clip_error("42"), "not a JSON object");
  EXPECT_MENTIONS(clip_error(std::string(100000, '[') + std::string(100000, ']')),
                  "not a JSON object");
  EXPECT_MENTIONS(clip_error(R"({"text_config": [1, 2]})"), "text_config");
  EXPECT_MENTIONS(clip_error(R"({"vision_config": "big"})"), "vision_config");
  EXPECT_MENTIONS(preprocessor_error(""), "not valid JSON");
  EXPECT_MENTIONS(preprocessor_error("[]"), "not a JSON object");
}

TEST(ConfigBadInput, AbsurdIntegers) {
  struct Case {
    const char* json;
    const char* field;
  };
  const std::vector<Case> cases = {
      // negative, zero
      {R"({"text_config": {"hidden_size": -512}})", "text_config.hidden_size"},
      {R"({"vision_config": {"num_hidden_layers": 0}})", "vision_config.num_hidden_layers"},
      {R"({"vision_config": {"patch_size": 0}})", "vision_config.patch_size"},
      {R"({"vision_config": {"image_size": -224}})", "vision_config.image_size"},
      {R"({"projection_dim": 0})", "projection_dim"},
      {R"({"text_config": {"max_position_embeddings": 1}})", "max_position_embeddings"},
      {R"({"text_config": {"vocab_size": 0}})", "vocab_size"},
      {R"({"text_config": {"eos_token_id": -1}})", "eos_token_id"},
      // huge: beyond every real CLIP, or beyond int and int64
      {R"({"vision_config": {"hidden_size": 1000000}})", "vision_config.hidden_size"},
      {R"({"text_config": {"intermediate_size": 2147483648}})", "intermediate_size"},
      {R"({"text_config": {"num_hidden_layers": 18446744073709551615}})", "num_hidden_layers"},
      {R"({"text_config": {"num_hidden_layers": 9223372036854775808}})", "num_hidden_layers"},
      {R"({"text_config": {"num_hidden_layers": -9223372036854775808}})", "num_hidden_layers"},
      {R"({"vision_config": {"image_size": 1e300}})", "image_size"},
      {R"({"vision_config": {"num_channels": 4}})", "num_channels"},
      // non-integers
      {R"({"projection_dim": 512.5})", "projection_dim"},
      {R"({"projection_dim": "512"})", "projection_dim"},
      {R"({"projection_dim": true})", "projection_dim"},
      {R"({"projection_dim": [512]})", "projection_dim"},
      {R"({"text_config": {"hidden_size": {"value": 512}}})", "hidden_size"},
      // inconsistent
      {R"({"text_config": {"hidden_size": 512, "num_attention_heads": 7}})", "divide"},
      {R"({"vision_config": {"image_size": 16, "patch_size": 32}})", "patch_size"},
      // layer norm epsilon: zero, negative, not finite, below float's range
      {R"({"text_config": {"layer_norm_eps": 0}})", "layer_norm_eps"},
      {R"({"text_config": {"layer_norm_eps": -1e-5}})", "layer_norm_eps"},
      {R"({"text_config": {"layer_norm_eps": 1e-300}})", "layer_norm_eps"},
      {R"({"text_config": {"layer_norm_eps": "1e-5"}})", "layer_norm_eps"},
      {R"({"model_type": "llama"})", "model_type"},
      {R"({"model_type": 7})", "model_type"},
      {R"({"text_config": {"hidden_act": "swish"}})", "hidden_act"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_MENTIONS(clip_error(c.json), c.field);
  }
}

TEST(ConfigBadInput, AbsurdPreprocessorValues) {
  struct Case {
    const char* json;
    const char* field;
  };
  const std::vector<Case> cases = {
      {R"({"size": 0})", "size"},
      {R"({"size": -224})", "size"},
      {R"({"size": 1e12})", "size"},
      {R"({"size": "224"})", "size"},
      {R"({"size": {"shortest_edge": 224.5}})", "shortest_edge"},
      {R"({"size": {"height": 224}})", "shortest_edge"},  // SigLIP's form needs both
      {R"({"crop_size": {"height": 0, "width": 224}})", "crop_size.height"},
      {R"({"crop_size": {"height": 224, "width": 1e9}})", "crop_size.width"},
      {R"({"crop_size": [224, 224]})", "crop_size"},
      {R"({"resample": -1})", "resample"},
      {R"({"resample": 3.5})", "resample"},
      {R"({"do_resize": "yes"})", "do_resize"},
      {R"({"do_normalize": 1})", "do_normalize"},
      {R"({"rescale_factor": "1/255"})", "rescale_factor"},
      // finite as a double, infinite as the float the preprocessing uses
      {R"({"rescale_factor": 1e300})", "rescale_factor"},
      {R"({"image_mean": 1e300})", "image_mean"},
      {R"({"image_mean": [0.5, 1e300, 0.5]})", "image_mean"},
      {R"({"image_std": [0.5, 0.5, -0.5]})", "image_std"},
      {R"({"image_std": 0})", "image_std"},
      {R"({"image_std": 1e-300})", "image_std"},
      {R"({"image_std": [0.5, 0.5, 0.5, 0.5]})", "image_std"},
      {R"({"image_std": ["a", 0.5, 0.5]})", "image_std"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_MENTIONS(preprocessor_error(c.json), c.field);
  }
}

TEST(ConfigBadInput, ExtremeButValidValuesAreAccepted) {
  // Integral floats ("224.0") are integers, as Python's json gives them to HF; null is "unset".
  auto c = parse_clip_config(
      R"({"projection_dim": 768.0, "text_config": null,
          "vision_config": {"image_size": 336, "patch_size": 14, "hidden_size": 1024,
                            "num_attention_heads": 16, "layer_norm_eps": 1e-6}})",
      "config.json");
  EXPECT_EQ(c.projection_dim, 768);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.text.encoder.hidden_size, 512);
  EXPECT_FLOAT_EQ(c.vision.encoder.layer_norm_eps, 1e-6f);
}

}  // namespace
}  // namespace zeroshot::config
