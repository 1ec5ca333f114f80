// Decoding any image libvips reads into 8-bit interleaved RGB, with the semantics of the reference
// pipeline (Hugging Face's CLIPImageProcessor on PIL): EXIF orientation applied, then PIL's
// convert("RGB") (alpha dropped, not composited; palette looked up; grey replicated), 16-bit
// samples reduced to their high byte, CMYK converted to sRGB by libvips. Thread-safe: any number of
// threads may decode at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace zeroshot::image {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // [height, width, 3]
};

// Throws zeroshot::Error: kImageRead (missing, unreadable or a directory), kImageDecode (no decoder
// accepts the bytes, truncated data, 0x0), kImageTooLarge (the header declares more than
// `max_pixels` pixels; checked before any pixel is decoded; 0 disables the check).
RgbImage decode_file(const std::string& path, std::uint64_t max_pixels);
RgbImage decode_buffer(std::span<const std::byte> bytes, std::uint64_t max_pixels);

}  // namespace zeroshot::image
