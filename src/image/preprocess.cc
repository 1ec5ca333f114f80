#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <vector>

#include "image/resample.h"
#include "zeroshot/error.h"

namespace zeroshot::image {
namespace {

// Python's floor division by 2 (HF's `(h - crop) // 2`, also for negative differences).
int floor_half(int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

std::string size_text(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

void check_input(int width, int height) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "image of " + size_text(width, height) + " pixels: expected a positive size");
  }
}

Filter check_filter(int resample) {
  if (resample < 1 || resample > 5) {
    throw Error(ErrorCode::kModelInvalid,
                "preprocessor_config.json: resample " + std::to_string(resample) +
                    " is not supported (expected 1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX or "
                    "5 HAMMING)");
  }
  return static_cast<Filter>(resample);
}

}  // namespace

ImageSize resize_target(int width, int height, const PreprocessParams& params) {
  if (params.resize_height <= 0 && params.resize_width <= 0)
    return resized_size(width, height, params.shortest_edge);
  check_input(width, height);
  if (params.resize_height <= 0 || params.resize_width <= 0) {
    throw Error(ErrorCode::kModelInvalid, "preprocessor_config.json: size " +
                                              size_text(params.resize_width, params.resize_height) +
                                              ": expected a positive height and width");
  }
  return {params.resize_height, params.resize_width};
}

ImageSize resized_size(int width, int height, int shortest_edge) {
  check_input(width, height);
  if (shortest_edge <= 0) {
    throw Error(ErrorCode::kModelInvalid, "preprocessor_config.json: shortest_edge " +
                                              std::to_string(shortest_edge) +
                                              ": expected a positive size");
  }
  const int short_side = std::min(width, height);
  const int long_side = std::max(width, height);
  // Python's int(size * long / short): a correctly rounded double quotient, truncated.
  const double long_out =
      static_cast<double>(static_cast<std::int64_t>(shortest_edge) * long_side) / short_side;
  if (long_out >= static_cast<double>(std::numeric_limits<int>::max())) {
    throw Error(ErrorCode::kInvalidArgument,
                "image of " + size_text(width, height) + " pixels: resizing its short edge to " +
                    std::to_string(shortest_edge) + " gives an absurd long edge");
  }
  const int new_long = static_cast<int>(long_out);
  return width <= height ? ImageSize{new_long, shortest_edge} : ImageSize{shortest_edge, new_long};
}

ImageSize output_size(int width, int height, const PreprocessParams& params) {
  check_input(width, height);
  if (params.do_resize) check_filter(params.resample);
  if (params.do_normalize) {
    for (int c = 0; c < 3; ++c) {
      if (!(params.std[c] != 0.0f) || !std::isfinite(params.std[c]) ||
          !std::isfinite(params.mean[c])) {
        throw Error(ErrorCode::kModelInvalid,
                    "preprocessor_config.json: image_mean/image_std channel " + std::to_string(c) +
                        ": expected a finite mean and a finite, non-zero std");
      }
    }
  }
  if (params.do_center_crop) {
    if (params.crop_height <= 0 || params.crop_width <= 0) {
      throw Error(ErrorCode::kModelInvalid, "preprocessor_config.json: crop size " +
                                                size_text(params.crop_width, params.crop_height) +
                                                ": expected a positive size");
    }
    return {params.crop_height, params.crop_width};
  }
  return params.do_resize ? resize_target(width, height, params) : ImageSize{height, width};
}

RgbImage resize_and_crop(const std::uint8_t* rgb, int width, int height,
                         const PreprocessParams& params) {
  const ImageSize out = output_size(width, height, params);
  const ImageSize resized =
      params.do_resize ? resize_target(width, height, params) : ImageSize{height, width};
  const Filter filter = params.do_resize ? check_filter(params.resample) : Filter::kBicubic;
  // HF's center_crop: top = (h - crop_h) // 2, left = (w - crop_w) // 2 in the resized image; a
  // smaller image is padded with zeros, placed ceil((crop - size) / 2) from the top/left, which is
  // the same offset.
  const int top = params.do_center_crop ? floor_half(resized.height - out.height) : 0;
  const int left = params.do_center_crop ? floor_half(resized.width - out.width) : 0;
  const int y0 = std::max(top, 0);
  const int x0 = std::max(left, 0);
  const int y1 = std::min(top + out.height, resized.height);
  const int x1 = std::min(left + out.width, resized.width);

  RgbImage result;
  result.width = out.width;
  result.height = out.height;
  result.pixels.assign(static_cast<std::size_t>(out.width) * out.height * 3, 0);  // [h, w, 3]
  if (y0 == top && x0 == left && y1 - y0 == out.height && x1 - x0 == out.width) {
    // The crop lies inside the resized image: resample exactly the crop.
    resample_window(rgb, width, height, resized.width, resized.height, filter, x0, y0, x1 - x0,
                    y1 - y0, result.pixels.data());
    return result;
  }
  std::vector<std::uint8_t> window(static_cast<std::size_t>(x1 - x0) * (y1 - y0) *
                                   3);  // [y1 - y0, x1 - x0, 3]
  resample_window(rgb, width, height, resized.width, resized.height, filter, x0, y0, x1 - x0,
                  y1 - y0, window.data());
  const std::size_t row_bytes = static_cast<std::size_t>(x1 - x0) * 3;
  for (int y = y0; y < y1; ++y) {
    std::memcpy(&result.pixels[(static_cast<std::size_t>(y - top) * out.width + (x0 - left)) * 3],
                &window[static_cast<std::size_t>(y - y0) * row_bytes], row_bytes);
  }
  return result;
}

void preprocess(const std::uint8_t* rgb, int width, int height, const PreprocessParams& params,
                float* out) {
  const RgbImage image = resize_and_crop(rgb, width, height, params);
  // HF rescales in float64 with the Python float 1/255 (float64(u8) * scale, then float32), then
  // normalises in float32: (x - mean) / std. The config stores the factor as a float, so its
  // usual value is mapped back to the exact double.
  const double scale = params.rescale_factor == 1.0f / 255.0f
                           ? 1.0 / 255.0
                           : static_cast<double>(params.rescale_factor);
  float table[3][256];  // [channel, u8 value]
  for (int c = 0; c < 3; ++c) {
    for (int u = 0; u < 256; ++u) {
      float x = params.do_rescale ? static_cast<float>(u * scale) : static_cast<float>(u);
      if (params.do_normalize) x = (x - params.mean[c]) / params.std[c];
      table[c][u] = x;
    }
  }
  const auto plane = static_cast<std::ptrdiff_t>(image.width) * image.height;
  const std::uint8_t* p = image.pixels.data();  // [h, w, 3]
#pragma omp parallel for schedule(static) if (plane >= 32768)
  for (std::ptrdiff_t i = 0; i < plane; ++i) {  // out: [3, h, w]
    out[i] = table[0][p[3 * i + 0]];
    out[plane + i] = table[1][p[3 * i + 1]];
    out[2 * plane + i] = table[2][p[3 * i + 2]];
  }
}

void preprocess_batch(std::span<const RgbView> images, const PreprocessParams& params,
                      std::size_t floats_per_image, float* out) {
  const auto n = static_cast<std::ptrdiff_t>(images.size());
  if (n == 1) {  // one image: the threads split its passes instead
    preprocess(images[0].rgb, images[0].width, images[0].height, params, out);
    return;
  }
  std::vector<std::exception_ptr> errors(images.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    try {
      preprocess(images[k].rgb, images[k].width, images[k].height, params,
                 out + k * floats_per_image);
    } catch (...) {
      errors[k] = std::current_exception();  // no exception may leave an OpenMP region
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace zeroshot::image
