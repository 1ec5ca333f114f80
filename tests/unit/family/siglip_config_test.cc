// SigLIP's config.json: Hugging Face's defaults (configuration_siglip.py) and the refusals that
// name the field.
#include <gtest/gtest.h>

#include <string>

#include "family/siglip/siglip_config.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {
namespace {

TEST(SiglipConfig, EmptyConfigIsSiglipBasePatch16) {
  const SiglipConfig c = parse_siglip_config(R"({"model_type": "siglip"})", "config.json");
  EXPECT_EQ(c.text.encoder.hidden_size, 768);
  EXPECT_EQ(c.text.encoder.num_layers, 12);
  EXPECT_EQ(c.text.vocab_size, 32000);
  EXPECT_EQ(c.text.max_position_embeddings, 64);
  EXPECT_EQ(c.text.encoder.activation, config::Activation::kGeluTanh);
  EXPECT_FLOAT_EQ(c.text.encoder.layer_norm_eps, 1e-6f);
  EXPECT_EQ(c.text_projection_size, 768);
  EXPECT_EQ(c.vision.patch_size, 16);
  EXPECT_EQ(c.vision.image_size, 224);
  EXPECT_EQ(c.vision.encoder.activation, config::Activation::kGeluTanh);
  EXPECT_FLOAT_EQ(c.vision.encoder.layer_norm_eps, 1e-6f);
}

TEST(SiglipConfig, ProjectionSizeDefaultsToTheTextWidth) {
  const SiglipConfig c = parse_siglip_config(
      R"({"text_config": {"hidden_size": 32, "num_attention_heads": 4, "projection_size": 40},
          "vision_config": {"hidden_size": 40, "num_attention_heads": 4}})",
      "config.json");
  EXPECT_EQ(c.text.encoder.hidden_size, 32);
  EXPECT_EQ(c.text_projection_size, 40);
}

TEST(SiglipConfig, RefusalsNameTheField) {
  const struct {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"vision_config": {"vision_use_head": false}})", "vision_config.vision_use_head"},
      {R"({"text_config": {"projection_size": 512}})", "text_config.projection_size"},
      {R"({"text_config": {"hidden_size": 384}})", "text_config.projection_size"},
      {R"({"vision_config": {"patch_size": 300}})", "vision_config.patch_size"},
      {R"({"text_config": {"hidden_act": "relu6"}})", "text_config.hidden_act"},
      {R"({"text_config": {"max_position_embeddings": 0}})", "text_config.max_position_embeddings"},
      {R"([1, 2])", "not a JSON object"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    try {
      parse_siglip_config(c.json, "config.json");
      FAIL() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
      EXPECT_NE(std::string(e.what()).find(c.field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace zeroshot::family::siglip
