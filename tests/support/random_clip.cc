#include "support/random_clip.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <vector>

#include "family/clip/clip_config.h"
#include "family/siglip/siglip_config.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;

struct Tensor {
  std::string dtype;  // "F32", "F16", "BF16" or "I64"
  std::vector<std::int64_t> shape;
  std::vector<char> bytes;
};

std::uint16_t to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);  // round to nearest even
  return static_cast<std::uint16_t>(u >> 16);
}

std::uint16_t to_f16(float f) {
  // IEEE half, round to nearest even; the values written here are small and normal or zero.
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  const std::uint32_t sign = (u >> 16) & 0x8000;
  const int exponent = static_cast<int>((u >> 23) & 0xff) - 127 + 15;
  std::uint32_t mantissa = u & 0x7fffff;
  if (exponent <= 0) return static_cast<std::uint16_t>(sign);  // flush tiny values to zero
  if (exponent >= 31) return static_cast<std::uint16_t>(sign | 0x7c00);
  std::uint32_t half = sign | (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;
  return static_cast<std::uint16_t>(half);
}

class Writer {
 public:
  Writer(WeightType type, std::uint64_t seed) : type_(type), rng_(seed) {}

  void random(const std::string& name, std::vector<std::int64_t> shape, float mean = 0.0f,
              float stddev = 0.02f) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float> values(n);
    for (auto& v : values) v = dist(rng_);
    add_float(name, std::move(shape), values);
  }

  void add_float(const std::string& name, std::vector<std::int64_t> shape,
                 const std::vector<float>& values) {
    Tensor t;
    t.shape = std::move(shape);
    if (type_ == WeightType::kF32) {
      t.dtype = "F32";
      t.bytes.resize(values.size() * 4);
      std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    } else {
      t.dtype = type_ == WeightType::kF16 ? "F16" : "BF16";
      t.bytes.resize(values.size() * 2);
      for (std::size_t i = 0; i < values.size(); ++i) {
        std::uint16_t h = type_ == WeightType::kF16 ? to_f16(values[i]) : to_bf16(values[i]);
        std::memcpy(t.bytes.data() + 2 * i, &h, 2);
      }
    }
    tensors_[name] = std::move(t);
  }

  void positions(const std::string& name, std::int64_t count) {
    Tensor t{"I64", {1, count}, std::vector<char>(count * 8)};
    for (std::int64_t i = 0; i < count; ++i) std::memcpy(t.bytes.data() + 8 * i, &i, 8);
    tensors_[name] = std::move(t);
  }

  void save(const fs::path& path) const {
    nlohmann::json header = nlohmann::json::object();
    header["__metadata__"] = {{"format", "pt"}};
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors_) {
      header[name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
      offset += t.bytes.size();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as hub files do
    std::ofstream out(path, std::ios::binary);
    const std::uint64_t len = text.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
    out << text;
    for (const auto& [name, t] : tensors_) out.write(t.bytes.data(), t.bytes.size());
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }

 private:
  WeightType type_;
  std::mt19937_64 rng_;
  std::map<std::string, Tensor> tensors_;  // sorted names, as safetensors writers do
};

void encoder(Writer& w, const std::string& prefix, const config::EncoderConfig& e) {
  const std::int64_t h = e.hidden_size, ff = e.intermediate_size;
  for (int i = 0; i < e.num_layers; ++i) {
    const std::string p = prefix + ".encoder.layers." + std::to_string(i) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      w.random(p + "self_attn." + proj + ".weight", {h, h});
      w.random(p + "self_attn." + proj + ".bias", {h});
    }
    w.random(p + "layer_norm1.weight", {h}, 1.0f);
    w.random(p + "layer_norm1.bias", {h});
    w.random(p + "layer_norm2.weight", {h}, 1.0f);
    w.random(p + "layer_norm2.bias", {h});
    w.random(p + "mlp.fc1.weight", {ff, h});
    w.random(p + "mlp.fc1.bias", {ff});
    w.random(p + "mlp.fc2.weight", {h, ff});
    w.random(p + "mlp.fc2.bias", {h});
  }
}

}  // namespace

void write_random_clip(const std::string& folder, const RandomClipOptions& options) {
  const fs::path dir(folder);
  fs::create_directories(dir);
  const std::string config_text = options.config.dump(2);
  const auto c = family::clip::parse_clip_config(config_text, "config.json");
  std::ofstream(dir / "config.json") << config_text;
  nlohmann::json pre = options.preprocessor;
  if (pre.is_null()) {
    pre = {{"do_resize", true},
           {"size", {{"shortest_edge", c.vision.image_size}}},
           {"resample", 3},
           {"do_center_crop", true},
           {"crop_size", {{"height", c.vision.image_size}, {"width", c.vision.image_size}}},
           {"do_rescale", true},
           {"rescale_factor", 1.0 / 255.0},
           {"do_normalize", true},
           {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
           {"image_std", {0.26862954, 0.26130258, 0.27577711}},
           {"do_convert_rgb", true},
           {"image_processor_type", "CLIPImageProcessor"}};
  }
  std::ofstream(dir / "preprocessor_config.json") << pre.dump(2);
  for (const char* name : {"tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                           "special_tokens_map.json"}) {
    const fs::path from = fs::path(options.tokenizer_from) / name;
    if (fs::exists(from)) fs::copy_file(from, dir / name, fs::copy_options::overwrite_existing);
  }

  Writer w(options.weight_type, options.seed);
  const std::int64_t th = c.text.encoder.hidden_size, vh = c.vision.encoder.hidden_size;
  const std::int64_t grid = c.vision.image_size / c.vision.patch_size;
  w.random("text_model.embeddings.token_embedding.weight", {c.text.vocab_size, th});
  w.random("text_model.embeddings.position_embedding.weight", {c.text.max_position_embeddings, th},
           0.0f, 0.01f);
  w.positions("text_model.embeddings.position_ids", c.text.max_position_embeddings);
  encoder(w, "text_model", c.text.encoder);
  w.random("text_model.final_layer_norm.weight", {th}, 1.0f);
  w.random("text_model.final_layer_norm.bias", {th});
  w.random("text_projection.weight", {c.projection_dim, th});
  w.random("vision_model.embeddings.class_embedding", {vh});
  w.random("vision_model.embeddings.patch_embedding.weight",
           {vh, 3, c.vision.patch_size, c.vision.patch_size});
  w.random("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, vh});
  w.positions("vision_model.embeddings.position_ids", grid * grid + 1);
  w.random("vision_model.pre_layrnorm.weight", {vh}, 1.0f);
  w.random("vision_model.pre_layrnorm.bias", {vh});
  encoder(w, "vision_model", c.vision.encoder);
  w.random("vision_model.post_layernorm.weight", {vh}, 1.0f);
  w.random("vision_model.post_layernorm.bias", {vh});
  w.random("visual_projection.weight", {c.projection_dim, vh});
  w.add_float("logit_scale", {}, {std::log(100.0f)});
  w.save(dir / "model.safetensors");
}

nlohmann::json tiny_siglip_config(int layers, int vocab_size) {
  return {{"text_config",
           {{"hidden_size", 32},
            {"intermediate_size", 48},
            {"num_hidden_layers", layers},
            {"num_attention_heads", 4},
            {"vocab_size", vocab_size},
            {"projection_size", 40}}},
          {"vision_config",
           {{"hidden_size", 40},
            {"intermediate_size", 56},
            {"num_hidden_layers", layers},
            {"num_attention_heads", 4},
            {"patch_size", 16}}}};
}

void write_random_siglip(const std::string& folder, const RandomSiglipOptions& options) {
  const fs::path dir(folder);
  fs::create_directories(dir);
  nlohmann::json config_json = options.config;
  config_json["model_type"] = "siglip";
  const std::string config_text = config_json.dump(2);
  const auto c = family::siglip::parse_siglip_config(config_text, "config.json");
  std::ofstream(dir / "config.json") << config_text;
  const nlohmann::json pre = {
      {"do_normalize", true},
      {"do_rescale", true},
      {"do_resize", true},
      {"image_mean", {0.5, 0.5, 0.5}},
      {"image_processor_type", "SiglipImageProcessor"},
      {"image_std", {0.5, 0.5, 0.5}},
      {"processor_class", "SiglipProcessor"},
      {"resample", options.siglip2_tokenizer_json.empty() ? 3 : 2},
      {"rescale_factor", 1.0 / 255.0},
      {"size", {{"height", c.vision.image_size}, {"width", c.vision.image_size}}}};
  std::ofstream(dir / "preprocessor_config.json") << pre.dump(2);
  if (!options.siglip2_tokenizer_json.empty()) {
    fs::copy_file(options.siglip2_tokenizer_json, dir / "tokenizer.json",
                  fs::copy_options::overwrite_existing);
    const nlohmann::json gemma = {{"bos_token", "<bos>"},
                                  {"eos_token", "<eos>"},
                                  {"model_max_length", 64},
                                  {"pad_token", "<pad>"},
                                  {"padding_side", "right"},
                                  {"unk_token", "<unk>"},
                                  {"tokenizer_class", "GemmaTokenizer"}};
    std::ofstream(dir / "tokenizer_config.json") << gemma.dump(2);
  } else {
    for (const char* name : {"spiece.model", "tokenizer_config.json", "special_tokens_map.json"}) {
      const fs::path from = fs::path(options.tokenizer_from) / name;
      if (fs::exists(from)) fs::copy_file(from, dir / name, fs::copy_options::overwrite_existing);
    }
  }

  Writer w(options.weight_type, options.seed);
  const std::int64_t th = c.text.encoder.hidden_size, vh = c.vision.encoder.hidden_size;
  const std::int64_t inter = c.vision.encoder.intermediate_size;
  const std::int64_t grid = c.vision.image_size / c.vision.patch_size;
  w.random("text_model.embeddings.token_embedding.weight", {c.text.vocab_size, th});
  w.random("text_model.embeddings.position_embedding.weight", {c.text.max_position_embeddings, th});
  w.positions("text_model.embeddings.position_ids", c.text.max_position_embeddings);
  encoder(w, "text_model", c.text.encoder);
  w.random("text_model.final_layer_norm.weight", {th}, 1.0f);
  w.random("text_model.final_layer_norm.bias", {th});
  w.random("text_model.head.weight", {c.text_projection_size, th});
  w.random("text_model.head.bias", {c.text_projection_size});
  w.random("vision_model.embeddings.patch_embedding.weight",
           {vh, 3, c.vision.patch_size, c.vision.patch_size});
  w.random("vision_model.embeddings.patch_embedding.bias", {vh});
  w.random("vision_model.embeddings.position_embedding.weight", {grid * grid, vh});
  w.positions("vision_model.embeddings.position_ids", grid * grid);
  encoder(w, "vision_model", c.vision.encoder);
  w.random("vision_model.post_layernorm.weight", {vh}, 1.0f);
  w.random("vision_model.post_layernorm.bias", {vh});
  w.random("vision_model.head.probe", {1, 1, vh}, 0.0f, 1.0f);
  w.random("vision_model.head.attention.in_proj_weight", {3 * vh, vh});
  w.random("vision_model.head.attention.in_proj_bias", {3 * vh});
  w.random("vision_model.head.attention.out_proj.weight", {vh, vh});
  w.random("vision_model.head.attention.out_proj.bias", {vh});
  w.random("vision_model.head.layernorm.weight", {vh}, 1.0f);
  w.random("vision_model.head.layernorm.bias", {vh});
  w.random("vision_model.head.mlp.fc1.weight", {inter, vh});
  w.random("vision_model.head.mlp.fc1.bias", {inter});
  w.random("vision_model.head.mlp.fc2.weight", {vh, inter});
  w.random("vision_model.head.mlp.fc2.bias", {vh});
  w.add_float("logit_scale", {1}, {options.logit_scale});
  w.add_float("logit_bias", {1}, {options.logit_bias});
  w.save(dir / "model.safetensors");
}

}  // namespace zeroshot::testing
