// Decoding any image libvips reads into 8-bit interleaved RGB, with the semantics of the reference
// pipeline (Hugging Face's CLIPImageProcessor on PIL): EXIF orientation applied, then PIL's
// convert("RGB") (alpha dropped, not composited; palette looked up; grey replicated), 16-bit
// samples reduced to their high byte, CMYK converted as PIL does (no colour profile). Thread-safe:
// any number of threads may decode at once.
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

// Copies [height, width, 3] pixels into a new image with EXIF orientation `orientation` (1..8)
// undone, as PIL's ImageOps.exif_transpose: 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom,
// 5 transpose, 6 rotate 90 degrees clockwise, 7 transverse, 8 rotate 90 degrees anticlockwise.
// Other values copy unchanged.
RgbImage apply_exif_orientation(const std::uint8_t* rgb, int width, int height, int orientation);

}  // namespace zeroshot::image
