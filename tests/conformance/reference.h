// Access to tests/fixtures/reference/tiny-clip.json: what OpenAI's CLIP code (with HF's
// preprocessing and tokenizer) produced for every fixture image and label set.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace zeroshot::testing {

inline const std::string kFixtures = ZEROSHOT_FIXTURES;
inline const std::string kTinyClip = kFixtures + "/models/tiny-clip";

inline const nlohmann::json& reference() {
  static const nlohmann::json ref = [] {
    std::ifstream in(kFixtures + "/reference/tiny-clip.json");
    return nlohmann::json::parse(in);
  }();
  return ref;
}

// The reference entry that describes what decoding `file` must give: EXIF orientation is applied
// when reading a file, so a file with an "@exif_transposed" variant is compared with that variant.
inline const nlohmann::json& image_entry(const std::string& file) {
  const nlohmann::json* raw = nullptr;
  for (const auto& e : reference()["images"]) {
    if (e["file"] != file) continue;
    if (e["variant"] == "exif_transposed") return e;
    raw = &e;
  }
  return *raw;
}

// Files whose pixels deliberately differ from Pillow's (fixtures README): 16-bit grey (Pillow 9.4
// clamps to 255, we take the high byte). (CMYK is converted as Pillow does: compared like the
// others.)
inline bool pixels_differ_by_design(const std::string& file) {
  return file.rfind("gray16_", 0) == 0;
}

// Every distinct fixture image file, in reference order. Never few: a test looping over none
// would pass without checking anything.
inline std::vector<std::string> image_files() {
  std::vector<std::string> files;
  for (const auto& e : reference()["images"])
    if (e["variant"] == "raw") files.push_back(e["file"]);
  if (files.size() < 10) throw std::runtime_error("the reference lists fewer than 10 images");
  return files;
}

inline std::string image_path(const std::string& file) { return kFixtures + "/images/" + file; }

// The per-image result of a label set for the entry that decoding `file` must match.
inline const nlohmann::json& per_image(const nlohmann::json& label_set, const std::string& file) {
  const std::string id = image_entry(file)["id"];
  for (const auto& p : label_set["per_image"])
    if (p["image"] == id) return p;
  throw std::runtime_error("no per_image entry for " + id);
}

inline double max_abs_diff(const std::vector<float>& a, const nlohmann::json& b) {
  double m = a.size() == b.size() ? 0.0 : 1e30;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i].get<double>()));
  return m;
}

}  // namespace zeroshot::testing
