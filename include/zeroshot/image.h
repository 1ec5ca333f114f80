// zeroshot: decoded images.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace zeroshot {

// How much of an image is decoded (DecodeOptions::mode).
enum class DecodeMode {
  // Every pixel: with the model's preprocessing, exactly the pixels of Hugging Face's processor.
  kExact,
  // JPEG (libjpeg's DCT scaling, libvips' shrink-on-load) and WebP (libwebp's scaled decode)
  // decoded at 1/2, 1/4 or 1/8 of their size: the largest of these that keeps the image at least
  // `fast_margin` times the size the model resizes it to, in each dimension; the model's resample
  // and crop then run as in kExact. A camera photo decodes several times faster and its
  // embedding stays within cosine 0.9999 of kExact's (tests/unit/api/fast_decode_test.cc).
  // Other formats, and images too small to reduce, decode whole: bit for bit kExact. Needs
  // `target` (Model::decode_options fills it); without one nothing is reduced.
  kFast,
};

// The size the model's preprocessing resizes a decoded image to, which a fast decode stays above.
struct ResizeTarget {
  int shortest_edge = 0;      // the short edge is resized to this (CLIP's processor), or
  int width = 0, height = 0;  // the image to exactly width x height (SigLIP's); all 0 = none
};

// Fast decoding keeps the decoded image at least this many times the resize target (Pillow's
// reducing_gap reasoning; measured in bench/README.md): 4000x3000 for a 224 short edge decodes at
// 1/4 (1000x750), 8000x6000 at 1/8.
inline constexpr double kDefaultFastMargin = 2.0;

struct DecodeOptions {
  // Images that declare more pixels than this are refused from their header, before decoding
  // (decompression bombs). 0 disables the check. Checked on the stored size in both modes.
  std::uint64_t max_pixels = 100'000'000;
  DecodeMode mode = DecodeMode::kExact;
  // kFast only: what the image is resized to next, and the margin kept above it (at least 1).
  ResizeTarget target = {};
  double fast_margin = kDefaultFastMargin;
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

  // The decoded size: the stored size (after EXIF orientation), divided by reduced_by() when a
  // fast decode reduced it.
  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  // 1 when decoded whole; 2, 4 or 8 when a fast decode (DecodeMode::kFast) reduced it.
  int reduced_by() const noexcept { return reduced_by_; }
  // [height, width, 3] interleaved RGB.
  std::span<const std::uint8_t> rgb() const noexcept;

 private:
  Image(int width, int height, std::shared_ptr<const std::uint8_t[]> pixels, int reduced_by = 1)
      : width_(width), height_(height), reduced_by_(reduced_by), pixels_(std::move(pixels)) {}
  int width_ = 0;
  int height_ = 0;
  int reduced_by_ = 1;
  std::shared_ptr<const std::uint8_t[]> pixels_;
};

// True for a file name with an image extension (.jpg .jpeg .png .webp .bmp .tif .tiff .gif .heic
// .heif .avif .jxl .pgm .ppm .pnm, any case): the files a folder gives to the batch CLI and to
// Index::add.
bool has_image_extension(std::string_view path);

}  // namespace zeroshot
