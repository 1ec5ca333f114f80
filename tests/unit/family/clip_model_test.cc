// The CLIP towers on the tiny-clip fixture against the reference embeddings computed by OpenAI's
// model code (tests/fixtures/reference/tiny-clip.json).
#include "family/clip/clip_model.h"

#include <gtest/gtest.h>
#include <vips/vips.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "config/preprocessor_config.h"
#include "family/clip/clip_config.h"
#include "safetensors/safetensors.h"
#include "tensor/convert.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {
namespace {

const std::string kFixtures = ZEROSHOT_FIXTURES;
const std::string kModelDir = kFixtures + "/models/tiny-clip/";

std::vector<float> normalised(std::vector<float> v) {
  double sq = 0;
  for (float x : v) sq += static_cast<double>(x) * x;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
  for (float& x : v) x *= inv;
  return v;
}

double max_abs_diff(const std::vector<float>& a, const nlohmann::json& ref) {
  EXPECT_EQ(a.size(), ref.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size() && i < ref.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - ref[i].get<double>()));
  }
  return worst;
}

// Raw embeddings: a tolerance relative to the vector's size (values reach ~2).
double max_rel_diff(const std::vector<float>& a, const nlohmann::json& ref) {
  double norm = 0;
  for (const auto& v : ref) norm = std::max(norm, std::abs(v.get<double>()));
  return max_abs_diff(a, ref) / std::max(norm, 1.0);
}

// pixel_values from a reference crop, as HF's CLIPImageProcessor: float64(u8) * (1/255) ->
// float32, then (x - mean) / std in float32, CHW.
std::vector<float> pixel_values(const std::string& crop_png,
                                const config::PreprocessorConfig& pre) {
  VipsImage* image = vips_image_new_from_file(crop_png.c_str(), nullptr);
  if (!image) throw std::runtime_error("vips cannot read " + crop_png);
  std::unique_ptr<VipsImage, void (*)(VipsImage*)> owner(image,
                                                         [](VipsImage* i) { g_object_unref(i); });
  if (vips_image_get_bands(image) != 3 || vips_image_get_format(image) != VIPS_FORMAT_UCHAR) {
    throw std::runtime_error(crop_png + " is not 8-bit RGB");
  }
  const int w = vips_image_get_width(image);
  const int h = vips_image_get_height(image);
  std::size_t size = 0;
  void* memory = vips_image_write_to_memory(image, &size);
  if (!memory) throw std::runtime_error("vips cannot decode " + crop_png);
  std::unique_ptr<void, void (*)(void*)> mem_owner(memory, g_free);
  const auto* u8 = static_cast<const std::uint8_t*>(memory);    // [h, w, 3]
  std::vector<float> out(static_cast<std::size_t>(3) * h * w);  // [3, h, w]
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < h * w; ++i) {
      const auto v = static_cast<float>(static_cast<double>(u8[i * 3 + c]) * (1.0 / 255.0));
      out[static_cast<std::size_t>(c) * h * w + i] = (v - pre.image_mean[c]) / pre.image_std[c];
    }
  }
  return out;
}

class TinyClip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static const bool vips_ready = VIPS_INIT("model_test") == 0;
    ASSERT_TRUE(vips_ready);
    config_ = new ClipConfig(
        parse_clip_config(util::read_file(kModelDir + "config.json"), "config.json"));
    preprocessor_ = new config::PreprocessorConfig(config::parse_preprocessor_config(
        util::read_file(kModelDir + "preprocessor_config.json"), "preprocessor_config.json"));
    file_ = new safetensors::File(safetensors::File::open(kModelDir + "model.safetensors"));
    model_ = new ClipModel(*config_, file_->tensors(), "model.safetensors");
    std::ifstream in(kFixtures + "/reference/tiny-clip.json");
    reference_ = new nlohmann::json(nlohmann::json::parse(in));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete file_;
    delete preprocessor_;
    delete config_;
    delete reference_;
  }

  // Every prompt of every label set: {hf_ids, entry}. Never empty (a test over none would pass).
  static std::vector<std::pair<std::vector<int>, const nlohmann::json*>> prompts() {
    std::vector<std::pair<std::vector<int>, const nlohmann::json*>> out;
    for (const auto& set : (*reference_)["label_sets"]) {
      for (const auto& token : set["tokens"]) {
        out.emplace_back(token["hf_ids"].get<std::vector<int>>(), &token);
      }
    }
    if (out.size() < 10) throw std::runtime_error("the reference has fewer than 10 prompts");
    return out;
  }

  std::vector<float> text(const std::vector<int>& ids, const ClipModel& model) const {
    std::vector<float> out(static_cast<std::size_t>(model.config().projection_dim));
    model.encode_text(ids, out.data());
    return out;
  }

  static inline ClipConfig* config_ = nullptr;
  static inline config::PreprocessorConfig* preprocessor_ = nullptr;
  static inline safetensors::File* file_ = nullptr;
  static inline ClipModel* model_ = nullptr;
  static inline nlohmann::json* reference_ = nullptr;
};

TEST_F(TinyClip, TextEmbeddingsMatchReference) {
  const auto all = prompts();
  ASSERT_GT(all.size(), 10u);
  for (const auto& [ids, entry] : all) {
    const std::vector<float> raw = text(ids, *model_);
    EXPECT_LE(max_abs_diff(normalised(raw), (*entry)["text_embeds_norm"]), 1e-4)
        << (*entry)["text"];
    EXPECT_LE(max_rel_diff(raw, (*entry)["text_embeds"]), 1e-3) << (*entry)["text"];
  }
}

TEST_F(TinyClip, TextBatchMatchesSinglePrompts) {
  const auto all = prompts();
  ASSERT_GT(all.size(), 10u);
  std::vector<std::vector<int>> ids;
  for (const auto& p : all) ids.push_back(p.first);
  const auto dim = static_cast<std::size_t>(config_->projection_dim);
  std::vector<float> batch(ids.size() * dim);
  model_->encode_texts(ids, batch.data());
  for (std::size_t s = 0; s < ids.size(); ++s) {
    const std::vector<float> one(batch.begin() + s * dim, batch.begin() + (s + 1) * dim);
    EXPECT_LE(max_abs_diff(normalised(one), (*all[s].second)["text_embeds_norm"]), 1e-4);
  }
}

// Prompts from one template share "<|startoftext|> a photo of": encode_texts runs those rows once
// and lets every prompt attend to their saved keys and values. The results must still be the
// reference's (computed prompt by prompt). Repeated 4 times so that the shared rows are worth a
// pass of their own.
TEST_F(TinyClip, PromptsSharingATemplatePrefixMatchReference) {
  const auto all = prompts();
  const std::vector<int> a_photo_of = {49406, 320, 1125, 539};
  std::vector<std::vector<int>> ids;
  std::vector<const nlohmann::json*> entries;
  for (int copy = 0; copy < 4; ++copy) {
    for (const auto& [prompt, entry] : all) {
      if (prompt.size() > a_photo_of.size() &&
          std::equal(a_photo_of.begin(), a_photo_of.end(), prompt.begin())) {
        ids.push_back(prompt);
        entries.push_back(entry);
      }
    }
  }
  ASSERT_GE(ids.size(), 4u * 10u);
  const auto dim = static_cast<std::size_t>(config_->projection_dim);
  std::vector<float> batch(ids.size() * dim);
  model_->encode_texts(ids, batch.data());
  for (std::size_t s = 0; s < ids.size(); ++s) {
    const std::vector<float> one(batch.begin() + s * dim, batch.begin() + (s + 1) * dim);
    EXPECT_LE(max_abs_diff(normalised(one), (*entries[s])["text_embeds_norm"]), 1e-4)
        << (*entries[s])["text"];
    EXPECT_LE(max_rel_diff(one, (*entries[s])["text_embeds"]), 1e-3) << (*entries[s])["text"];
  }
}

TEST_F(TinyClip, PaddingAfterTheEndTokenChangesNothing) {
  const auto all = prompts();
  ASSERT_FALSE(all.empty());
  std::vector<int> ids = all[0].first;
  const std::vector<float> plain = text(ids, *model_);
  ids.resize(77, 0);  // OpenAI's zero padding to the context length
  EXPECT_EQ(text(ids, *model_), plain);
}

TEST_F(TinyClip, PoolingFollowsEosTokenId) {
  ClipConfig legacy = *config_;
  legacy.text.eos_token_id = 2;
  ClipConfig modern = *config_;
  modern.text.eos_token_id = 49407;
  const ClipModel a(legacy, file_->tensors(), "model.safetensors");
  const ClipModel b(modern, file_->tensors(), "model.safetensors");
  // Ordinary prompt: the first 49407 is also the argmax, so both agree with the reference.
  const auto all = prompts();
  const auto& [ids, entry] = all[0];
  EXPECT_LE(max_abs_diff(normalised(text(ids, a)), (*entry)["text_embeds_norm"]), 1e-4);
  EXPECT_LE(max_abs_diff(normalised(text(ids, b)), (*entry)["text_embeds_norm"]), 1e-4);
  EXPECT_EQ(text(ids, a), text(ids, b));

  // argmax: the first maximum; eos 49407: the first match.
  const std::vector<int> two_ends{49406, 320, 49407, 1929, 49407};
  EXPECT_EQ(a.pooled_position(two_ends), 2);
  EXPECT_EQ(b.pooled_position(two_ends), 2);
  const std::vector<int> no_end{49406, 320, 1929};
  EXPECT_EQ(a.pooled_position(no_end), 0);  // argmax of ids without an end token: 49406
  try {
    b.pooled_position(no_end);
    FAIL() << "no error without an end token";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  // Another end id: pooled at its first occurrence, not at the argmax.
  ClipConfig other = *config_;
  other.text.eos_token_id = 320;
  const ClipModel c(other, file_->tensors(), "model.safetensors");
  EXPECT_EQ(c.pooled_position(two_ends), 1);
}

TEST_F(TinyClip, RejectsBadPrompts) {
  auto code = [&](const std::vector<int>& ids) {
    try {
      text(ids, *model_);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code({}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(std::vector<int>(78, 49407)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({49406, -1, 49407}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({49406, 49408, 49407}), ErrorCode::kInvalidArgument);
}

TEST_F(TinyClip, ImageEmbeddingsMatchReference) {
  std::vector<float> pixels;
  std::vector<const nlohmann::json*> entries;
  for (const auto& image : (*reference_)["images"]) {
    const std::vector<float> one =
        pixel_values(kFixtures + "/" + image["crop_png"].get<std::string>(), *preprocessor_);
    // The test's own preprocessing agrees with the reference's samples.
    ASSERT_FALSE(image["pixel_values"]["samples"].empty()) << image["id"];
    for (const auto& s : image["pixel_values"]["samples"]) {
      const std::size_t at = (s["c"].get<std::size_t>() * 224 + s["y"].get<std::size_t>()) * 224 +
                             s["x"].get<std::size_t>();
      ASSERT_NEAR(one[at], s["v"].get<double>(), 1e-6) << image["id"];
    }
    pixels.insert(pixels.end(), one.begin(), one.end());
    entries.push_back(&image);
  }
  ASSERT_GE(entries.size(), 5u);
  const auto dim = static_cast<std::size_t>(config_->projection_dim);
  const auto batch = static_cast<int>(entries.size());
  std::vector<float> out(entries.size() * dim);
  model_->encode_images(pixels.data(), batch, out.data());
  for (std::size_t b = 0; b < entries.size(); ++b) {
    const std::vector<float> raw(out.begin() + b * dim, out.begin() + (b + 1) * dim);
    EXPECT_LE(max_abs_diff(normalised(raw), (*entries[b])["image_embeds_norm"]), 1e-4)
        << (*entries[b])["id"];
    EXPECT_LE(max_rel_diff(raw, (*entries[b])["image_embeds"]), 1e-3) << (*entries[b])["id"];
  }
  // A batch of one gives what the batch gave.
  std::vector<float> single(dim);
  const std::size_t image_floats = 3 * 224 * 224;
  model_->encode_images(pixels.data() + 2 * image_floats, 1, single.data());
  for (std::size_t i = 0; i < dim; ++i) EXPECT_NEAR(single[i], out[2 * dim + i], 1e-5);
}

TEST_F(TinyClip, LogitScaleIsTheRawWeight) {
  EXPECT_NEAR(model_->logit_scale(), (*reference_)["model"]["logit_scale"].get<double>(), 1e-6);
  // Shape [1] (some exporters) is accepted as well.
  tensor::NamedViews views = file_->tensors();
  views["logit_scale"].shape = {1};
  const ClipModel m(*config_, views, "model.safetensors");
  EXPECT_EQ(m.logit_scale(), model_->logit_scale());
}

std::string invalid_message(const ClipConfig& config, const tensor::NamedViews& views) {
  try {
    ClipModel m(config, views, "model.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST_F(TinyClip, MissingTensorIsNamed) {
  for (const char* name :
       {"text_projection.weight", "logit_scale", "vision_model.encoder.layers.2.mlp.fc2.bias",
        "vision_model.pre_layrnorm.weight"}) {
    tensor::NamedViews views = file_->tensors();
    views.erase(name);
    EXPECT_EQ(invalid_message(*config_, views),
              std::string("model.safetensors: missing tensor '") + name + "'");
  }
  // Unknown extras (and the int64 position_ids buffers) are ignored.
  tensor::NamedViews views = file_->tensors();
  views["something.else"] = views.at("logit_scale");
  EXPECT_NO_THROW(ClipModel(*config_, views, "model.safetensors"));
}

TEST_F(TinyClip, ShapeMismatchNamesBothShapes) {
  ClipConfig patch16 = *config_;
  patch16.vision.patch_size = 16;
  EXPECT_EQ(invalid_message(patch16, file_->tensors()),
            "model.safetensors: tensor 'vision_model.embeddings.patch_embedding.weight' has "
            "shape [64,3,32,32], config implies [64,3,16,16]");

  tensor::NamedViews views = file_->tensors();
  views["text_projection.weight"].shape = {16, 24};  // transposed
  EXPECT_EQ(invalid_message(*config_, views),
            "model.safetensors: tensor 'text_projection.weight' has shape [16,24], config "
            "implies [24,16]");

  ClipConfig wide = *config_;
  wide.text.encoder.intermediate_size = 128;
  const std::string m = invalid_message(wide, file_->tensors());
  EXPECT_NE(m.find("text_model.encoder.layers.0.mlp.fc1.weight"), std::string::npos) << m;
  EXPECT_NE(m.find("[64,16]"), std::string::npos) << m;
  EXPECT_NE(m.find("[128,16]"), std::string::npos) << m;

  views = file_->tensors();
  views["logit_scale"].shape = {2};
  EXPECT_NE(invalid_message(*config_, views).find("'logit_scale' has shape [2]"),
            std::string::npos);
}

TEST_F(TinyClip, WrongDtypeIsNamed) {
  tensor::NamedViews views = file_->tensors();
  views["visual_projection.weight"].dtype = tensor::DType::kOther;
  views["visual_projection.weight"].dtype_name = "I64";
  EXPECT_EQ(invalid_message(*config_, views),
            "model.safetensors: tensor 'visual_projection.weight' has dtype I64, expected F32, "
            "F16 or BF16");
}

// Every F32 tensor of the fixture re-encoded as F16 or BF16 (storage owned by the caller).
tensor::NamedViews convert_views(const tensor::NamedViews& in, tensor::DType dtype,
                                 std::vector<std::vector<std::uint16_t>>& storage) {
  tensor::NamedViews out;
  for (const auto& [name, view] : in) {
    if (view.dtype != tensor::DType::kF32) {
      out[name] = view;
      continue;
    }
    const tensor::Buffer f = tensor::to_f32(view);
    std::vector<std::uint16_t>& bits = storage.emplace_back(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
      bits[i] = dtype == tensor::DType::kF16 ? tensor::f32_to_f16(f[i]) : tensor::f32_to_bf16(f[i]);
    }
    tensor::View v = view;
    v.dtype = dtype;
    v.dtype_name = dtype == tensor::DType::kF16 ? "F16" : "BF16";
    v.data = reinterpret_cast<const std::byte*>(bits.data());
    v.nbytes = bits.size() * 2;
    out[name] = v;
  }
  return out;
}

TEST_F(TinyClip, HalfAndBFloat16WeightsAgreeWithinRoundingTolerance) {
  const std::string crop =
      kFixtures + "/" + (*reference_)["images"][0]["crop_png"].get<std::string>();
  const std::vector<float> pixels = pixel_values(crop, *preprocessor_);
  const auto all = prompts();
  const auto& [ids, entry] = all[0];
  struct Case {
    tensor::DType dtype;
    double tolerance;  // normalised embeddings; measured 2e-4 (F16) and 2.4e-3 (BF16)
  };
  for (const Case c : {Case{tensor::DType::kF16, 1e-3}, Case{tensor::DType::kBF16, 1e-2}}) {
    std::vector<std::vector<std::uint16_t>> storage;
    const ClipModel m(*config_, convert_views(file_->tensors(), c.dtype, storage),
                      "model.safetensors");
    storage.clear();  // the model keeps its own float32 copies
    EXPECT_LE(max_abs_diff(normalised(text(ids, m)), (*entry)["text_embeds_norm"]), c.tolerance);
    std::vector<float> image(static_cast<std::size_t>(config_->projection_dim));
    m.encode_images(pixels.data(), 1, image.data());
    EXPECT_LE(max_abs_diff(normalised(image), (*reference_)["images"][0]["image_embeds_norm"]),
              c.tolerance);
  }
}

TEST_F(TinyClip, ConcurrentCallsGiveTheSameResults) {
  const auto all = prompts();
  std::vector<std::vector<float>> expected;
  for (const auto& p : all) expected.push_back(text(p.first, *model_));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = t; i < all.size(); i += 2) {
          mismatches[t] += text(all[i].first, *model_) != expected[i];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace zeroshot::family::clip
