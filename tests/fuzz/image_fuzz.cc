// libFuzzer target: image decoding (libvips, via image::decode_buffer), whole and fast (a reduced
// decode of JPEG and WebP: the same outcome, error code or image, as the whole decode), and the
// CLIP preprocessing of whatever decodes. libvips and its codecs are uninstrumented system
// libraries: ASan still sees their heap errors through its allocator, and coverage guides through
// our code only.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"
#include "zeroshot/error.h"

namespace {

// Lower than the library's default (100 MP) so that each execution stays fast: an accepted image
// costs time in proportion to its pixels (decode, copies, the resampler's passes), and the corpus
// drifts towards images just under the limit. The check itself is the same code at any limit.
constexpr std::uint64_t kMaxPixels = 1'000'000;

// The fast decode of the same bytes: the whole decode's error code, or an image of its size
// divided by the reduction (libjpeg rounds up, libwebp to nearest), equal to it when not reduced.
// `unsure`: decode fast (for ASan and crashes) but compare nothing. libvips' WebP loading of some
// damaged files is not deterministic: corpus/image_fuzz/regression-webp-scaled-decode-fails
// decodes in some processes and fails in others, whole or reduced alike, so no outcome of one
// decode predicts another's. Valid WebP files are compared in tests/unit/image/fast_decode_test.cc.
void check_fast(std::span<const std::byte> bytes, const zeroshot::image::RgbImage* whole,
                zeroshot::ErrorCode whole_code, std::uint8_t select, bool unsure) {
  // Targets from 1 to 32 pixels, margins 1 to 2.5: every factor is reached on small inputs.
  const zeroshot::image::Reduction reduction{.shortest_edge = 1 + select % 32,
                                             .margin = 1.0 + 0.5 * ((select / 32) % 4)};
  zeroshot::image::RgbImage fast;
  try {
    fast = zeroshot::image::decode_buffer(bytes, kMaxPixels, reduction);
  } catch (const zeroshot::Error& e) {
    if (unsure) return;
    if (whole != nullptr || e.code() != whole_code) std::abort();
    return;
  }
  if (unsure) return;
  if (whole == nullptr) std::abort();
  const int f = fast.reduced_by;
  if (f != 1 && f != 2 && f != 4 && f != 8) std::abort();
  if (fast.pixels.size() != static_cast<std::size_t>(fast.width) * fast.height * 3) std::abort();
  if (f == 1) {
    if (fast.width != whole->width || fast.height != whole->height || fast.pixels != whole->pixels)
      std::abort();
    return;
  }
  if (std::abs(fast.width - whole->width / static_cast<double>(f)) > 1.0 ||
      std::abs(fast.height - whole->height / static_cast<double>(f)) > 1.0)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using zeroshot::ErrorCode;
  const std::span bytes(reinterpret_cast<const std::byte*>(data), size);
  const std::uint8_t select = size > 0 ? data[size - 1] : 0;
  const bool webp =
      size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0;
  zeroshot::image::RgbImage image;
  try {
    image = zeroshot::image::decode_buffer(bytes, kMaxPixels);
  } catch (const zeroshot::Error& e) {
    if (e.code() != ErrorCode::kImageDecode && e.code() != ErrorCode::kImageTooLarge) std::abort();
    if (std::string(e.what()).find("image buffer") == std::string::npos) std::abort();
    check_fast(bytes, nullptr, e.code(), select, webp);
    return 0;
  }
  if (image.width <= 0 || image.height <= 0 ||
      static_cast<std::uint64_t>(image.width) * image.height > kMaxPixels ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    std::abort();
  check_fast(bytes, &image, ErrorCode::kInternal, select, webp);

  // The last byte picks the resample filter and the sizes, so that every filter and both crop
  // cases (inside the resized image, or padded) are reached. Sizes are kept small: the resampling
  // is the same code at 224 and 24 pixels, but 80x faster under coverage instrumentation.
  zeroshot::image::PreprocessParams params;
  params.resample = 1 + select % 5;
  params.shortest_edge = 8 + 4 * ((select / 5) % 8);
  params.crop_height = 24;
  params.crop_width = 16 + 4 * ((select / 40) % 4);
  params.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  params.std = {0.26862954f, 0.26130258f, 0.27577711f};
  std::vector<float> pixels(3 * static_cast<std::size_t>(params.crop_height) *
                            params.crop_width);  // [3, crop_height, crop_width]
  try {
    zeroshot::image::preprocess(image.pixels.data(), image.width, image.height, params,
                                pixels.data());
  } catch (const zeroshot::Error& e) {
    // Only an absurd aspect ratio (a long edge beyond int after resizing) may be refused.
    if (e.code() != ErrorCode::kInvalidArgument) std::abort();
  }
  return 0;
}
