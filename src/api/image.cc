#include "zeroshot/image.h"

#include <cctype>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "image/decode.h"
#include "zeroshot/error.h"

namespace zeroshot {
namespace {

// The decoded pixels, moved (not copied) into shared ownership: the aliasing constructor points
// at the vector's data and keeps the vector alive.
std::shared_ptr<const std::uint8_t[]> share(std::vector<std::uint8_t>&& pixels) {
  auto owner = std::make_shared<const std::vector<std::uint8_t>>(std::move(pixels));
  return std::shared_ptr<const std::uint8_t[]>(owner, owner->data());
}

image::Reduction reduction_of(const DecodeOptions& options) {
  if (options.mode != DecodeMode::kFast) return {};
  return {.shortest_edge = options.target.shortest_edge,
          .width = options.target.width,
          .height = options.target.height,
          .margin = options.fast_margin};
}

}  // namespace

Image Image::from_file(const std::string& path, const DecodeOptions& options) {
  image::RgbImage decoded = image::decode_file(path, options.max_pixels, reduction_of(options));
  return Image(decoded.width, decoded.height, share(std::move(decoded.pixels)), decoded.reduced_by);
}

Image Image::from_buffer(std::span<const std::byte> bytes, const DecodeOptions& options) {
  image::RgbImage decoded = image::decode_buffer(bytes, options.max_pixels, reduction_of(options));
  return Image(decoded.width, decoded.height, share(std::move(decoded.pixels)), decoded.reduced_by);
}

Image Image::from_rgb(int width, int height, std::span<const std::uint8_t> rgb) {
  if (width <= 0 || height <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "Image::from_rgb: size " + std::to_string(width) +
                                                 "x" + std::to_string(height) +
                                                 ": expected a positive width and height");
  }
  const std::size_t expected = static_cast<std::size_t>(width) * height * 3;
  if (rgb.size() != expected) {
    throw Error(ErrorCode::kInvalidArgument,
                "Image::from_rgb: " + std::to_string(rgb.size()) + " bytes for a " +
                    std::to_string(width) + "x" + std::to_string(height) + " RGB image, expected " +
                    std::to_string(expected) + " ([height, width, 3])");
  }
  std::shared_ptr<std::uint8_t[]> copy(new std::uint8_t[expected]);
  std::memcpy(copy.get(), rgb.data(), expected);
  return Image(width, height, std::move(copy));
}

std::span<const std::uint8_t> Image::rgb() const noexcept {
  return {pixels_.get(), static_cast<std::size_t>(width_) * height_ * 3};
}

bool has_image_extension(std::string_view path) {
  const auto slash = path.find_last_of('/');
  const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string ext(name.substr(dot));
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* known : {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif",
                            ".heic", ".heif", ".avif", ".jxl", ".pgm", ".ppm", ".pnm"}) {
    if (ext == known) return true;
  }
  return false;
}

}  // namespace zeroshot
