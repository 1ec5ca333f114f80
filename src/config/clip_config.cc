#include "config/clip_config.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "zeroshot/error.h"

namespace zeroshot::config {
namespace {

using nlohmann::json;

// Generous bounds: the largest CLIPs (ViT-bigG) are far inside them; beyond them a config is
// corrupt or hostile and would only make us allocate absurd amounts of memory.
constexpr int kMaxWidth = 16384;
constexpr int kMaxLayers = 256;
constexpr int kMaxPositions = 4096;
constexpr int kMaxVocab = 1 << 22;
constexpr int kMaxImageSize = 4096;

bool fits_float(double d) {
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

Activation parse_activation(const Reader& r, Activation fallback) {
  const std::string name = r.string("hidden_act", "");
  if (name.empty()) return fallback;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::kGeluTanh;
  r.fail("hidden_act",
         "is \"" + name + "\", expected quick_gelu, gelu, gelu_new or gelu_pytorch_tanh");
}

EncoderConfig parse_encoder(const Reader& r, const EncoderConfig& defaults) {
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

const json& sub_config(const json& root, const char* key, const char* legacy_key,
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

json parse_object(std::string_view text, const std::string& source) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) throw Error(ErrorCode::kModelInvalid, source + ": not valid JSON");
  if (!root.is_object()) throw Error(ErrorCode::kModelInvalid, source + ": not a JSON object");
  return root;
}

}  // namespace

ClipConfig parse_clip_config(std::string_view text, const std::string& source) {
  const json root = parse_object(text, source);
  Reader top(root, source, "");
  const std::string model_type = top.string("model_type", "clip");
  if (model_type != "clip") {
    top.fail("model_type", "is \"" + model_type + "\"; only CLIP models (\"clip\") are supported");
  }
  ClipConfig c;
  c.projection_dim = top.integer("projection_dim", c.projection_dim, 1, kMaxWidth);

  Reader text_r(sub_config(root, "text_config", "text_config_dict", source), source,
                "text_config.");
  c.text.encoder = parse_encoder(text_r, c.text.encoder);
  c.text.vocab_size = text_r.integer("vocab_size", c.text.vocab_size, 1, kMaxVocab);
  c.text.max_position_embeddings =
      text_r.integer("max_position_embeddings", c.text.max_position_embeddings, 2, kMaxPositions);
  c.text.eos_token_id = text_r.integer("eos_token_id", c.text.eos_token_id, 0, kMaxVocab);

  Reader vision_r(sub_config(root, "vision_config", "vision_config_dict", source), source,
                  "vision_config.");
  c.vision.encoder = parse_encoder(vision_r, c.vision.encoder);
  c.vision.image_size = vision_r.integer("image_size", c.vision.image_size, 1, kMaxImageSize);
  c.vision.patch_size = vision_r.integer("patch_size", c.vision.patch_size, 1, kMaxImageSize);
  c.vision.num_channels = vision_r.integer("num_channels", c.vision.num_channels, 3, 3);
  if (c.vision.patch_size > c.vision.image_size) {
    vision_r.fail("patch_size", "(" + std::to_string(c.vision.patch_size) +
                                    ") must not exceed image_size (" +
                                    std::to_string(c.vision.image_size) + ")");
  }
  return c;
}

namespace {

// "size": 224 | {"shortest_edge": 224}; "crop_size": 224 | {"height": h, "width": w}.
void parse_size(const Reader& r, const json& root, PreprocessorConfig& p) {
  auto it = root.find("size");
  if (it == root.end() || it->is_null()) return;
  if (it->is_number()) {
    p.shortest_edge = r.integer("size", p.shortest_edge, 1, kMaxImageSize);
    return;
  }
  if (!it->is_object()) r.fail("size", "must be an integer or {\"shortest_edge\": N}");
  Reader size_r(*it, r.source(), "size.");
  if (!size_r.find("shortest_edge")) {
    r.fail("size",
           "must give \"shortest_edge\" (CLIP resizes the shortest edge); got " + it->dump());
  }
  p.shortest_edge = size_r.integer("shortest_edge", p.shortest_edge, 1, kMaxImageSize);
}

void parse_crop(const Reader& r, const json& root, PreprocessorConfig& p) {
  auto it = root.find("crop_size");
  if (it == root.end() || it->is_null()) return;
  if (it->is_number()) {
    p.crop_height = p.crop_width = r.integer("crop_size", p.crop_height, 1, kMaxImageSize);
    return;
  }
  if (!it->is_object()) r.fail("crop_size", "must be an integer or {\"height\": H, \"width\": W}");
  Reader crop_r(*it, r.source(), "crop_size.");
  p.crop_height = crop_r.integer("height", p.crop_height, 1, kMaxImageSize);
  p.crop_width = crop_r.integer("width", p.crop_width, 1, kMaxImageSize);
}

std::array<float, 3> parse_triple(const Reader& r, const json& root, const char* key,
                                  std::array<float, 3> fallback, bool positive) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return fallback;
  std::array<float, 3> out{};
  if (it->is_number()) {
    out.fill(r.real(key, 0));
  } else if (it->is_array() && it->size() == 3) {
    for (int i = 0; i < 3; ++i) {
      if (!(*it)[i].is_number()) r.fail(key, "must hold 3 numbers");
      const double d = (*it)[i].get<double>();
      if (!fits_float(d)) r.fail(key, "must hold numbers within the range of a float");
      out[i] = static_cast<float>(d);
    }
  } else {
    r.fail(key, "must be a number or a list of 3 numbers, got " + it->dump());
  }
  if (positive)
    for (float v : out)
      if (!(v > 0)) r.fail(key, "must be positive");
  return out;
}

}  // namespace

PreprocessorConfig parse_preprocessor_config(std::string_view text, const std::string& source) {
  const json root = parse_object(text, source);
  Reader r(root, source, "");
  PreprocessorConfig p;
  p.do_resize = r.boolean("do_resize", p.do_resize);
  parse_size(r, root, p);
  p.resample = static_cast<Resample>(r.integer("resample", static_cast<int>(p.resample), 0, 5));
  p.do_center_crop = r.boolean("do_center_crop", p.do_center_crop);
  parse_crop(r, root, p);
  p.do_rescale = r.boolean("do_rescale", p.do_rescale);
  p.rescale_factor = r.real("rescale_factor", p.rescale_factor);
  p.do_normalize = r.boolean("do_normalize", p.do_normalize);
  p.image_mean = parse_triple(r, root, "image_mean", p.image_mean, /*positive=*/false);
  p.image_std = parse_triple(r, root, "image_std", p.image_std, /*positive=*/true);
  p.do_convert_rgb = r.boolean("do_convert_rgb", p.do_convert_rgb);
  return p;
}

}  // namespace zeroshot::config
