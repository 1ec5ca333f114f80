// zeroshot: decoded images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace zeroshot {

struct DecodeOptions {
  // Images that declare more pixels than this are refused from their header, before decoding
  // (decompression bombs). 0 disables the check.
  std::uint64_t max_pixels = 100'000'000;
};

// An 8-bit RGB image, decoded with libvips from any format it reads, with EXIF orientation applied
// and converted to RGB as PIL's convert("RGB") does (alpha dropped, palette looked up, grey
// replicated, 16-bit reduced to the high byte). Cheap to copy: copies share the immutable pixels.
class Image {
 public:
  // Throws zeroshot::Error (kImageRead, kImageDecode, kImageTooLarge) naming the file.
  static Image from_file(const std::string& path, const DecodeOptions& options = {});
  static Image from_buffer(std::span<const std::byte> bytes, const DecodeOptions& options = {});
  // Wraps interleaved RGB pixels ([height, width, 3] uint8), copying them.
  static Image from_rgb(int width, int height, std::span<const std::uint8_t> rgb);

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  // [height, width, 3] interleaved RGB.
  std::span<const std::uint8_t> rgb() const noexcept;

 private:
  Image(int width, int height, std::shared_ptr<const std::uint8_t[]> pixels)
      : width_(width), height_(height), pixels_(std::move(pixels)) {}
  int width_ = 0;
  int height_ = 0;
  std::shared_ptr<const std::uint8_t[]> pixels_;
};

// True for a file name with an image extension (.jpg .jpeg .png .webp .bmp .tif .tiff .gif .heic
// .heif .avif .jxl .pgm .ppm .pnm, any case): the files a folder gives to the batch CLI and to
// Index::add.
bool has_image_extension(std::string_view path);

}  // namespace zeroshot
