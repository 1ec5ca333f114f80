#include "config/preprocessor_config.h"

#include <nlohmann/json.hpp>

#include "config/json_reader.h"
#include "zeroshot/error.h"

namespace zeroshot::config {

using namespace json_reader;  // the field readers shared with the families' parsers
using nlohmann::json;

namespace {

// "size": 224 | {"shortest_edge": 224} | {"height": h, "width": w} (an exact size); "crop_size":
// 224 |
// {"height": h, "width": w}.
void parse_size(const Reader& r, const json& root, PreprocessorConfig& p) {
  auto it = root.find("size");
  if (it == root.end() || it->is_null()) return;
  if (it->is_number()) {
    p.shortest_edge = r.integer("size", p.shortest_edge, 1, kMaxImageSize);
    return;
  }
  if (!it->is_object()) r.fail("size", "must be an integer or {\"shortest_edge\": N}");
  Reader size_r(*it, r.source(), "size.");
  if (!size_r.find("shortest_edge") && size_r.find("height") && size_r.find("width")) {
    p.resize_height = size_r.integer("height", 0, 1, kMaxImageSize);
    p.resize_width = size_r.integer("width", 0, 1, kMaxImageSize);
    return;
  }
  if (!size_r.find("shortest_edge")) {
    r.fail("size", "must give \"shortest_edge\" or \"height\" and \"width\"; got " + it->dump());
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
