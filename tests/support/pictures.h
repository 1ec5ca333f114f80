// Camera-size test pictures made at test time with libvips (not the library's decoder): a fixture
// image resized to any size, with a little Gaussian noise (so that it compresses like a photo),
// encoded as JPEG, WebP or PNG, optionally with an EXIF orientation, as CMYK or with alpha.
#pragma once

#include <string>

namespace zeroshot::test {

struct PictureSpec {
  int width = 4000;
  int height = 3000;
  std::string format = ".jpg";  // any suffix libvips saves (".jpg", ".webp", ".png")
  int quality = 92;             // JPEG and lossy WebP
  double noise = 3.0;           // standard deviation, in 8-bit levels (0 = none)
  int seed = 1;                 // of the noise: the same spec gives the same bytes
  int orientation = 0;          // EXIF orientation tag written (1..8), 0 = none
  bool cmyk = false;            // a 4-band CMYK JPEG (C = 255 - R, ..., K = 0)
  bool alpha = false;           // a fourth, alpha band (constant 200)
};

// The encoded bytes of `source` (a path) made as `spec` says. Throws std::runtime_error with
// libvips' message.
std::string make_picture(const std::string& source, const PictureSpec& spec);

}  // namespace zeroshot::test
