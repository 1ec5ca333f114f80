// preprocessor_config.json of a Hugging Face model (its image processor) as plain data, with
// transformers' CLIPImageProcessor defaults for every missing field; shared by every model family,
// each of which turns it into image::PreprocessParams with its own rules (family/*/).
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace zeroshot::config {

enum class Resample {
  kNearest = 0,
  kLanczos = 1,
  kBilinear = 2,
  kBicubic = 3,
  kBox = 4,
  kHamming = 5
};

struct PreprocessorConfig {
  bool do_resize = true;
  int shortest_edge = 224;  // "size": 224 or {"shortest_edge": 224}
  int resize_height = 0;    // "size": {"height": h, "width": w}: an exact size, else 0
  int resize_width = 0;
  Resample resample = Resample::kBicubic;
  bool do_center_crop = true;
  int crop_height = 224;  // "crop_size": 224 or {"height": 224, "width": 224}
  int crop_width = 224;
  bool do_rescale = true;
  float rescale_factor = 1.0f / 255.0f;
  bool do_normalize = true;
  std::array<float, 3> image_mean{0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std{0.26862954f, 0.26130258f, 0.27577711f};
  bool do_convert_rgb = true;
};

// Parses preprocessor_config.json text; `source` names the file in error messages. Throws
// zeroshot::Error (kModelInvalid) for malformed JSON, wrong types and absurd values, naming the
// field.
PreprocessorConfig parse_preprocessor_config(std::string_view json, const std::string& source);

}  // namespace zeroshot::config
