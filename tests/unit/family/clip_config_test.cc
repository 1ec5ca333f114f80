#include "family/clip/clip_config.h"

#include <gtest/gtest.h>

#include "support/expect_error.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {
namespace {

const std::string kTiny = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/";

// Expects parse to throw kModelInvalid with every fragment in the message.
void expect_invalid(const std::function<void()>& parse, const std::vector<std::string>& fragments) {
  testing::expect_error(parse, ErrorCode::kModelInvalid, fragments);
}

TEST(ClipConfig, TinyFixture) {
  auto c = parse_clip_config(util::read_file(kTiny + "config.json"), "config.json");
  EXPECT_EQ(c.projection_dim, 24);
  EXPECT_EQ(c.text.encoder.hidden_size, 16);
  EXPECT_EQ(c.text.encoder.intermediate_size, 64);
  EXPECT_EQ(c.text.encoder.num_heads, 2);
  EXPECT_EQ(c.text.encoder.num_layers, 2);
  EXPECT_EQ(c.text.eos_token_id, 2);
  EXPECT_EQ(c.text.max_position_embeddings, 77);
  EXPECT_EQ(c.vision.encoder.hidden_size, 64);
  EXPECT_EQ(c.vision.encoder.num_heads, 4);
  EXPECT_EQ(c.vision.encoder.num_layers, 3);
  EXPECT_EQ(c.vision.patch_size, 32);
  EXPECT_EQ(c.vision.image_size, 224);
  EXPECT_EQ(c.vision.encoder.activation, config::Activation::kQuickGelu);
}

TEST(ClipConfig, EmptyObjectGivesHuggingFaceDefaults) {
  // transformers' CLIPConfig() defaults: ViT-B/32 sizes.
  auto c = parse_clip_config("{}", "config.json");
  EXPECT_EQ(c.projection_dim, 512);
  EXPECT_EQ(c.text.encoder.hidden_size, 512);
  EXPECT_EQ(c.text.encoder.intermediate_size, 2048);
  EXPECT_EQ(c.text.encoder.num_heads, 8);
  EXPECT_EQ(c.text.encoder.num_layers, 12);
  EXPECT_EQ(c.text.vocab_size, 49408);
  EXPECT_EQ(c.text.eos_token_id, 49407);
  EXPECT_EQ(c.vision.encoder.hidden_size, 768);
  EXPECT_EQ(c.vision.encoder.intermediate_size, 3072);
  EXPECT_EQ(c.vision.encoder.num_heads, 12);
  EXPECT_EQ(c.vision.patch_size, 32);
  EXPECT_FLOAT_EQ(c.vision.encoder.layer_norm_eps, 1e-5f);
}

TEST(ClipConfig, LegacyDictKeysAndActivations) {
  auto c = parse_clip_config(
      R"({"text_config_dict": {"hidden_act": "gelu", "hidden_size": 64, "num_attention_heads": 4},
          "vision_config": {"hidden_act": "gelu_pytorch_tanh", "patch_size": 16}})",
      "config.json");
  EXPECT_EQ(c.text.encoder.activation, config::Activation::kGelu);
  EXPECT_EQ(c.text.encoder.hidden_size, 64);
  EXPECT_EQ(c.vision.encoder.activation, config::Activation::kGeluTanh);
  EXPECT_EQ(c.vision.patch_size, 16);
}

TEST(ClipConfig, RejectsBadValuesNamingTheField) {
  expect_invalid([] { parse_clip_config("{", "config.json"); }, {"config.json", "JSON"});
  expect_invalid([] { parse_clip_config("[]", "config.json"); }, {"object"});
  expect_invalid([] { parse_clip_config(R"({"vision_config": {"hidden_size": -3}})", "c.json"); },
                 {"c.json", "vision_config.hidden_size", "-3"});
  expect_invalid([] { parse_clip_config(R"({"text_config": {"hidden_size": 0}})", "c.json"); },
                 {"text_config.hidden_size"});
  expect_invalid([] { parse_clip_config(R"({"projection_dim": 12.5})", "c.json"); },
                 {"projection_dim", "integer"});
  expect_invalid([] { parse_clip_config(R"({"projection_dim": "512"})", "c.json"); },
                 {"projection_dim"});
  expect_invalid(
      [] { parse_clip_config(R"({"text_config": {"num_hidden_layers": 1e9}})", "c.json"); },
      {"num_hidden_layers"});
  expect_invalid(
      [] { parse_clip_config(R"({"vision_config": {"num_attention_heads": 5}})", "c.json"); },
      {"num_attention_heads", "divide"});
  expect_invalid([] { parse_clip_config(R"({"vision_config": {"hidden_act": "relu"}})", "c"); },
                 {"hidden_act", "relu"});
  expect_invalid([] { parse_clip_config(R"({"model_type": "siglip"})", "c"); }, {"siglip"});
  expect_invalid(
      [] { parse_clip_config(R"({"vision_config": {"patch_size": 32, "image_size": 16}})", "c"); },
      {"patch_size"});
}

}  // namespace
}  // namespace zeroshot::family::clip
