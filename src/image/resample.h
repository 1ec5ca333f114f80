// Pillow's ImagingResample (Resample.c, Pillow 9.x) for 8-bit RGB, reimplemented: separable
// convolution, horizontal pass first, the filter support scaled by the downscale factor,
// coefficients normalised to sum 1 then converted to 22-bit fixed point, each pass rounded and
// clipped to uint8; a pass whose size does not change is skipped.
#pragma once

#include <cstdint>

namespace zeroshot::image {

// PIL's resampling filter codes (Image.Resampling). NEAREST (0) is not supported.
enum class Filter { kLanczos = 1, kBilinear = 2, kBicubic = 3, kBox = 4, kHamming = 5 };

// Part of Pillow's resize of `src` ([height, width, 3]) to out_width x out_height: the window of
// win_height rows from win_y and win_width columns from win_x, which must lie inside the output.
// Every pixel equals the one Pillow computes for the whole image (output pixels are independent),
// so a centre crop need not resample what it throws away. `dst`: [win_height, win_width, 3].
void resample_window(const std::uint8_t* src, int width, int height, int out_width, int out_height,
                     Filter filter, int win_x, int win_y, int win_width, int win_height,
                     std::uint8_t* dst);

}  // namespace zeroshot::image
