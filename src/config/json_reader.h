// Reading config.json-style JSON with Hugging Face's defaults: typed, bounded field readers whose
// errors name the file and the field (kModelInvalid). Shared by every model family's config parser
// (family/*/*_config.cc) and by config/preprocessor_config.cc; plain inline helpers, no state.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "config/encoder_config.h"
#include "zeroshot/error.h"

namespace zeroshot::config::json_reader {
using nlohmann::json;

// Generous bounds: the largest CLIPs (ViT-bigG) are far inside them; beyond them a config is
// corrupt or hostile and would only make us allocate absurd amounts of memory.
inline constexpr int kMaxWidth = 16384;
inline constexpr int kMaxLayers = 256;
inline constexpr int kMaxPositions = 4096;
inline constexpr int kMaxVocab = 1 << 22;
inline constexpr int kMaxImageSize = 4096;

inline bool fits_float(double d) {
  return std::isfinite(d) && std::fabs(d) <= std::numeric_limits<float>::max();
}

class Reader {
 public:
  Reader(const json& object, std::string source, std::string prefix)
      : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorCode::kModelInvalid, source_ + ": '" + prefix_ + key + "' " + what);
  }

  const json* find(const std::string& key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // An integer in [lo, hi]; missing -> fallback. 224.0 is accepted; 224.5 and "224" are not.
  int integer(const std::string& key, int fallback, int lo, int hi) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    double d = 0;
    if (v->is_number_unsigned()) {
      // Read unsigned first: values above INT64_MAX would wrap if read as long long.
      auto u = v->get<unsigned long long>();
      if (u < static_cast<unsigned long long>(lo) || u > static_cast<unsigned long long>(hi))
        out_of_range(key, std::to_string(u), lo, hi);
      return static_cast<int>(u);
    }
    if (v->is_number_integer()) {
      auto i = v->get<long long>();
      if (i < lo || i > hi) out_of_range(key, std::to_string(i), lo, hi);
      return static_cast<int>(i);
    }
    if (!v->is_number_float()) fail(key, "must be an integer, got " + v->dump());
    d = v->get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) fail(key, "must be an integer, got " + v->dump());
    if (d < lo || d > hi) out_of_range(key, v->dump(), lo, hi);
    return static_cast<int>(d);
  }

  double number(const std::string& key, double fallback) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(key, "must be a number, got " + v->dump());
    double d = v->get<double>();
    if (!std::isfinite(d)) fail(key, "must be finite");
    return d;
  }

  // A number that the float computations can hold: finite as a float, not only as a double
  // (1e300 would silently become infinity).
  float real(const std::string& key, float fallback) const {
    double d = number(key, fallback);
    if (!fits_float(d)) fail(key, "is " + find(key)->dump() + ", beyond the range of a float");
    return static_cast<float>(d);
  }

  bool boolean(const std::string& key, bool fallback) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, "must be true or false, got " + v->dump());
    return v->get<bool>();
  }

  std::string string(const std::string& key, const std::string& fallback) const {
    const json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) fail(key, "must be a string, got " + v->dump());
    return v->get<std::string>();
  }

  const std::string& source() const { return source_; }
  const std::string& prefix() const { return prefix_; }

 private:
  [[noreturn]] void out_of_range(const std::string& key, const std::string& got, int lo,
                                 int hi) const {
    fail(key, "is " + got + ", expected " + std::to_string(lo) + ".." + std::to_string(hi));
  }

  const json& object_;
  std::string source_;
  std::string prefix_;
};

inline Activation parse_activation(const Reader& r, Activation fallback) {
  const std::string name = r.string("hidden_act", "");
  if (name.empty()) return fallback;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::kGeluTanh;
  r.fail("hidden_act",
         "is \"" + name + "\", expected quick_gelu, gelu, gelu_new or gelu_pytorch_tanh");
}

inline EncoderConfig parse_encoder(const Reader& r, const EncoderConfig& defaults) {
  EncoderConfig e;
  e.hidden_size = r.integer("hidden_size", defaults.hidden_size, 1, kMaxWidth);
  e.intermediate_size =
      r.integer("intermediate_size", defaults.intermediate_size, 1, 4 * kMaxWidth);
  e.num_layers = r.integer("num_hidden_layers", defaults.num_layers, 1, kMaxLayers);
  e.num_heads = r.integer("num_attention_heads", defaults.num_heads, 1, kMaxWidth);
  if (e.hidden_size % e.num_heads != 0) {
    r.fail("num_attention_heads", "(" + std::to_string(e.num_heads) +
                                      ") must divide hidden_size (" +
                                      std::to_string(e.hidden_size) + ")");
  }
  double eps = r.number("layer_norm_eps", defaults.layer_norm_eps);
  // Checked as the float the kernels use: 1e-300 is positive as a double but 0 as a float.
  if (!(eps > 0 && eps < 1 && static_cast<float>(eps) > 0))
    r.fail("layer_norm_eps", "must be in (0, 1) and representable as a positive float");
  e.layer_norm_eps = static_cast<float>(eps);
  e.activation = parse_activation(r, defaults.activation);
  return e;
}

inline const json& sub_config(const json& root, const char* key, const char* legacy_key,
                              const std::string& source) {
  static const json kEmpty = json::object();
  for (const char* k : {key, legacy_key}) {
    auto it = root.find(k);
    if (it == root.end() || it->is_null()) continue;
    if (!it->is_object())
      throw Error(ErrorCode::kModelInvalid, source + ": '" + k + "' must be an object");
    return *it;
  }
  return kEmpty;
}

inline json parse_object(std::string_view text, const std::string& source) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) throw Error(ErrorCode::kModelInvalid, source + ": not valid JSON");
  if (!root.is_object()) throw Error(ErrorCode::kModelInvalid, source + ": not a JSON object");
  return root;
}

// A vision_config: the encoder, image_size, patch_size (at most image_size), num_channels (3).
inline VisionConfig parse_vision(const Reader& r, const VisionConfig& defaults) {
  VisionConfig v;
  v.encoder = parse_encoder(r, defaults.encoder);
  v.image_size = r.integer("image_size", defaults.image_size, 1, kMaxImageSize);
  v.patch_size = r.integer("patch_size", defaults.patch_size, 1, kMaxImageSize);
  v.num_channels = r.integer("num_channels", defaults.num_channels, 3, 3);
  if (v.patch_size > v.image_size) {
    r.fail("patch_size", "(" + std::to_string(v.patch_size) + ") must not exceed image_size (" +
                             std::to_string(v.image_size) + ")");
  }
  return v;
}

// The reader of a tower's sub-config: root's "<tower>_config" (or the legacy "<tower>_config_dict";
// {} when neither is there), its errors naming "<tower>_config.<field>".
inline Reader tower_reader(const json& root, const std::string& tower, const std::string& source) {
  const std::string key = tower + "_config";
  return Reader(sub_config(root, key.c_str(), (key + "_dict").c_str(), source), source, key + ".");
}

// A text_config: the encoder, vocab_size and max_position_embeddings (at least min_positions);
// eos_token_id stays the default's (a family reads it if its tower uses it).
inline TextConfig parse_text(const Reader& r, const TextConfig& defaults, int min_positions) {
  TextConfig t = defaults;
  t.encoder = parse_encoder(r, defaults.encoder);
  t.vocab_size = r.integer("vocab_size", defaults.vocab_size, 1, kMaxVocab);
  t.max_position_embeddings = r.integer("max_position_embeddings", defaults.max_position_embeddings,
                                        min_positions, kMaxPositions);
  return t;
}

// config.json's "model_type", which picks the model family; empty when absent. Throws
// kModelInvalid for malformed JSON or a non-string value.
inline std::string read_model_type(std::string_view text, const std::string& source) {
  const json root = parse_object(text, source);
  return Reader(root, source, "").string("model_type", "");
}

}  // namespace zeroshot::config::json_reader
