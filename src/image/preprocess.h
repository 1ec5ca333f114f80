// Hugging Face CLIPImageProcessor (the PIL path) on 8-bit RGB: resize the shortest edge with
// Pillow's resampling, centre crop (zero padding when the image is smaller), rescale and normalise
// into float32 CHW. With an exact resize size (SiglipImageProcessor) the image is resized to it,
// aspect ratio not kept, and not cropped. Images are always [height, width, 3]: channel order is
// never guessed (HF misreads images whose height is 1 or 3 as channels-first).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "image/decode.h"

namespace zeroshot::image {

// Filled by the api from config::PreprocessorConfig.
struct PreprocessParams {
  bool do_resize = true;
  int shortest_edge = 224;
  // Both > 0: resize to exactly resize_width x resize_height instead (SigLIP's
  // "size": {"height", "width"}); shortest_edge is then unused.
  int resize_height = 0, resize_width = 0;
  int resample = 3;  // PIL codes: 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING
  bool do_center_crop = true;
  int crop_height = 224, crop_width = 224;
  bool do_rescale = true;
  float rescale_factor = 1.0f / 255.0f;
  bool do_normalize = true;
  std::array<float, 3> mean{}, std{};
};

struct ImageSize {
  int height = 0;
  int width = 0;
};

// The size after the resize step, as HF's get_resize_output_image_size(default_to_square=False):
// the short edge becomes `shortest_edge`, the long one int(shortest_edge * long / short).
ImageSize resized_size(int width, int height, int shortest_edge);

// The size of the resize step: the exact size when the params give one, else resized_size().
ImageSize resize_target(int width, int height, const PreprocessParams& params);

// The size resize_and_crop produces (the crop size when cropping). Throws zeroshot::Error
// (kInvalidArgument) for a non-positive input size, kModelInvalid for absurd parameters or an
// unsupported resample filter.
ImageSize output_size(int width, int height, const PreprocessParams& params);

// Resize + centre crop, uint8 HWC in and out ([out.height, out.width, 3], out = output_size()).
RgbImage resize_and_crop(const std::uint8_t* rgb, int width, int height,
                         const PreprocessParams& params);

// Full pipeline into a float CHW buffer of 3 * out.height * out.width floats (out = output_size();
// 3 * crop_height * crop_width when cropping). `out`: [3, out.height, out.width].
void preprocess(const std::uint8_t* rgb, int width, int height, const PreprocessParams& params,
                float* out);

// One decoded image: 8-bit RGB, [height, width, 3].
struct RgbView {
  const std::uint8_t* rgb = nullptr;
  int width = 0;
  int height = 0;
};

// preprocess() of each image into out + i * floats_per_image, the images spread over the calling
// thread's OpenMP threads (a batch's preprocessing was serial: 8 x ~1 ms beside a model pass that
// used both cores). Each result is preprocess()'s exactly. The first image's error is rethrown.
void preprocess_batch(std::span<const RgbView> images, const PreprocessParams& params,
                      std::size_t floats_per_image, float* out);

}  // namespace zeroshot::image
