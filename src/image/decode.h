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
  int reduced_by = 1;                // 2, 4 or 8 when a Reduction decoded it at that fraction
};

// A reduced decode ("fast" decoding): JPEG decoded with libjpeg's DCT scaling (libvips'
// shrink-on-load), WebP with libwebp's scaled decode, at 1/2, 1/4 or 1/8 of its size: the largest
// of these that keeps the decoded image at least `margin` times the size it is resized to next,
// in each dimension. Other formats, and images too small to reduce, decode whole (bit for bit
// what an unreduced decode gives). The default (no target) reduces nothing.
struct Reduction {
  int shortest_edge = 0;      // the next resize makes the short edge this long, or
  int width = 0, height = 0;  // makes the image exactly this size (both > 0; after orientation)
  double margin = 0;          // below 1 (or no target): no reduction
};

// The factor (1, 2, 4 or 8) a reduced decode uses for an image stored as width x height with EXIF
// orientation `orientation` (5..8 swap the stored width and height): the largest f with
// floor(w / f) >= margin * target in each dimension that has a target; 1 when none has.
int reduction_factor(int width, int height, int orientation, const Reduction& reduction);

// Throws zeroshot::Error: kImageRead (missing, unreadable or a directory), kImageDecode (no decoder
// accepts the bytes, truncated data, 0x0), kImageTooLarge (the header declares more than
// `max_pixels` pixels; checked before any pixel is decoded, on the stored size whatever the
// reduction; 0 disables the check). `reduction` may decode JPEG and WebP at a fraction of their
// size (see Reduction); everything else (orientation, convert("RGB"), errors) is the same: a
// reduced decode that fails is done again whole, whose result or error stands.
RgbImage decode_file(const std::string& path, std::uint64_t max_pixels,
                     const Reduction& reduction = {});
RgbImage decode_buffer(std::span<const std::byte> bytes, std::uint64_t max_pixels,
                       const Reduction& reduction = {});

// Copies [height, width, 3] pixels into a new image with EXIF orientation `orientation` (1..8)
// undone, as PIL's ImageOps.exif_transpose: 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom,
// 5 transpose, 6 rotate 90 degrees clockwise, 7 transverse, 8 rotate 90 degrees anticlockwise.
// Other values copy unchanged.
RgbImage apply_exif_orientation(const std::uint8_t* rgb, int width, int height, int orientation);

}  // namespace zeroshot::image
