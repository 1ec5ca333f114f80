#include "image/resample.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <numbers>
#include <string>
#include <vector>

#include <omp.h>

#include "util/cpu_dispatch.h"
#include "zeroshot/error.h"

namespace zeroshot::image {
namespace {

// Fixed-point precision of the coefficients, as Pillow's PRECISION_BITS (32 - 8 - 2).
constexpr int kPrecisionBits = 32 - 8 - 2;

// The filters of Pillow's Resample.c, in double precision like the original.
double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= std::numbers::pi;
  // Pillow writes the constants as floats: 0.54f + 0.46f * cos(x).
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;  // Pillow's (and Keys') bicubic parameter
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc_filter(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos_filter(double x) {
  return (-3.0 <= x && x < 3.0) ? sinc_filter(x) * sinc_filter(x / 3) : 0.0;
}

struct FilterSpec {
  double (*fn)(double);
  double support;
};

FilterSpec filter_spec(Filter filter) {
  switch (filter) {
    case Filter::kBox:
      return {box_filter, 0.5};
    case Filter::kBilinear:
      return {bilinear_filter, 1.0};
    case Filter::kHamming:
      return {hamming_filter, 1.0};
    case Filter::kBicubic:
      return {bicubic_filter, 2.0};
    case Filter::kLanczos:
      return {lanczos_filter, 3.0};
  }
  throw Error(ErrorCode::kModelInvalid,
              "resample filter " + std::to_string(static_cast<int>(filter)) + " is not supported");
}

// For n consecutive output positions: the first input index and the tap count, then ksize
// fixed-point weights.
struct Coefficients {
  int ksize = 0;
  std::vector<int> first;          // [n]
  std::vector<int> count;          // [n]
  std::vector<std::int32_t> taps;  // [n, ksize]
};

// As Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box (0, in_size), restricted to
// the output positions [begin, begin + n).
Coefficients precompute(int in_size, int out_size, FilterSpec spec, int begin, int n) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = spec.support * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(n);
  c.count.resize(n);
  c.taps.assign(static_cast<std::size_t>(n) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  const double ss = 1.0 / filterscale;
  for (int i = 0; i < n; ++i) {
    const int xx = begin + i;
    const double center = (xx + 0.5) * scale;
    // Pillow rounds with (int)(v + 0.5), which truncates toward zero.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = spec.fn((x + xmin - center + 0.5) * ss);
      total += w[x];
    }
    std::int32_t* k = &c.taps[static_cast<std::size_t>(i) * c.ksize];
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? w[x] / total : w[x];
      const double fixed = v * (1 << kPrecisionBits);
      k[x] = static_cast<std::int32_t>(v < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    c.first[i] = xmin;
    c.count[i] = std::max(xmax, 0);
  }
  return c;
}

// Pillow's clip8: the accumulator shifted down by the precision, clamped to 0..255.
inline std::uint8_t clamp_u8(std::int32_t v) {
  v >>= kPrecisionBits;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Two pixels widened to int32 lanes [R, G, B, 0, R, G, B, 0], so that one vector multiply-add
// applies two taps.
using PixelPair = std::int32_t __attribute__((vector_size(32)));

// Horizontal pass on `rows` rows of `src` ([rows, width, 3]) for the output columns of `c`.
// `dst`: [rows, n, 3] with n = c.first.size(). Built for AVX2 and the baseline, chosen at run time.
// The integer sums are Pillow's exactly, only grouped differently (integer addition is exact).
ZEROSHOT_TARGET_CLONES void horizontal(const std::uint8_t* src, int width, int rows,
                                       const Coefficients& c, std::uint8_t* dst) {
  const int n = static_cast<int>(c.first.size());
  // Taps in pairs, each tap broadcast to the four lanes of its pixel; a zero tap pads odd counts.
  // (Plain int32 storage, loaded with memcpy: vectors of vector types lose their alignment.)
  const int pairs = (c.ksize + 1) / 2;
  std::vector<std::int32_t> taps(static_cast<std::size_t>(n) * pairs * 8);  // [n, pairs, 8]
  for (int i = 0; i < n; ++i) {
    const std::int32_t* k = &c.taps[static_cast<std::size_t>(i) * c.ksize];
    std::int32_t* t = &taps[static_cast<std::size_t>(i) * pairs * 8];
    for (int j = 0; j < 2 * pairs; ++j) {
      const std::int32_t kj = j < c.count[i] ? k[j] : 0;
      for (int lane = 0; lane < 4; ++lane) t[4 * j + lane] = kj;
    }
  }
  std::vector<std::int32_t> row((static_cast<std::size_t>(width) + 1) * 4, 0);  // [width + 1, 4]
  constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);  // rounds the final shift
  for (int y = 0; y < rows; ++y) {
    const std::uint8_t* in = src + static_cast<std::size_t>(y) * width * 3;
    for (int x = 0; x < width; ++x) {  // the last (zero) pixel pads reads of odd tap counts
      row[4 * x + 0] = in[3 * x + 0];
      row[4 * x + 1] = in[3 * x + 1];
      row[4 * x + 2] = in[3 * x + 2];
    }
    std::uint8_t* out = dst + static_cast<std::size_t>(y) * n * 3;
    for (int i = 0; i < n; ++i) {
      const std::int32_t* k = &taps[static_cast<std::size_t>(i) * pairs * 8];
      const std::int32_t* p = &row[static_cast<std::size_t>(c.first[i]) * 4];
      const int used_pairs = (c.count[i] + 1) / 2;
      PixelPair acc = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int j = 0; j < used_pairs; ++j) {
        PixelPair v;
        PixelPair w;
        std::memcpy(&v, p + 8 * j, sizeof v);
        std::memcpy(&w, k + 8 * j, sizeof w);
        acc += v * w;
      }
      out[3 * i + 0] = clamp_u8(kHalf + acc[0] + acc[4]);
      out[3 * i + 1] = clamp_u8(kHalf + acc[1] + acc[5]);
      out[3 * i + 2] = clamp_u8(kHalf + acc[2] + acc[6]);
    }
  }
}

// Vertical pass for output rows [begin, end) of `c`: `src` is [.., width, 3] whose row 0 is input
// row `src_row0`; only columns [x0, x0 + m) are produced. `dst`: [n, m, 3], n = c.first.size().
ZEROSHOT_TARGET_CLONES void vertical(const std::uint8_t* src, int width, int src_row0,
                                     const Coefficients& c, int x0, int m, int begin, int end,
                                     std::uint8_t* dst) {
  const std::size_t stride = static_cast<std::size_t>(width) * 3;
  const int values = m * 3;
  std::vector<std::int32_t> acc(values);  // [m * 3]
  for (int i = begin; i < end; ++i) {
    const std::int32_t* k = &c.taps[static_cast<std::size_t>(i) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int t = 0; t < c.count[i]; ++t) {
      const std::uint8_t* row =
          src + static_cast<std::size_t>(c.first[i] + t - src_row0) * stride + x0 * 3;
      const std::int32_t kt = k[t];
      for (int v = 0; v < values; ++v) acc[v] += row[v] * kt;
    }
    std::uint8_t* out = dst + static_cast<std::size_t>(i) * values;
    for (int v = 0; v < values; ++v) out[v] = clamp_u8(acc[v]);
  }
}

// How many row blocks a pass of `work` multiply-adds over `rows` output rows is split into: one
// per thread (OpenMP, the calling thread's count) once the pass pays for waking them (a 640x480
// photo's passes, ~1e6 each, do: 0.9 -> 0.5 ms on 2 cores), one per 16 rows at most.
int row_blocks(double work, int rows) {
  return work > 2e5 ? std::min(omp_get_max_threads(), std::max(rows / 16, 1)) : 1;
}

// vertical() over row blocks in parallel: each output row reads input rows only, so the pixels
// are the same as one call's.
void vertical_rows(const std::uint8_t* src, int width, int src_row0, const Coefficients& c, int x0,
                   int m, std::uint8_t* dst) {
  const int n = static_cast<int>(c.first.size());
  const int blocks = row_blocks(static_cast<double>(n) * m * 3 * c.ksize, n);
#pragma omp parallel for num_threads(blocks) if (blocks > 1)
  for (int b = 0; b < blocks; ++b) {
    vertical(src, width, src_row0, c, x0, m, static_cast<int>(static_cast<long>(n) * b / blocks),
             static_cast<int>(static_cast<long>(n) * (b + 1) / blocks), dst);
  }
}

// horizontal() over row blocks in parallel, likewise: each output row depends on its input row
// only.
void horizontal_rows(const std::uint8_t* src, int width, int rows, const Coefficients& c,
                     std::uint8_t* dst) {
  const auto n = static_cast<std::size_t>(c.first.size());
  const int blocks = row_blocks(static_cast<double>(rows) * static_cast<double>(n) * c.ksize, rows);
#pragma omp parallel for num_threads(blocks) if (blocks > 1)
  for (int b = 0; b < blocks; ++b) {
    const int begin = static_cast<int>(static_cast<long>(rows) * b / blocks);
    const int end = static_cast<int>(static_cast<long>(rows) * (b + 1) / blocks);
    horizontal(src + static_cast<std::size_t>(begin) * width * 3, width, end - begin, c,
               dst + static_cast<std::size_t>(begin) * n * 3);
  }
}

}  // namespace

void resample_window(const std::uint8_t* src, int width, int height, int out_width, int out_height,
                     Filter filter, int win_x, int win_y, int win_width, int win_height,
                     std::uint8_t* dst) {
  const FilterSpec spec = filter_spec(filter);
  if (win_width <= 0 || win_height <= 0) return;
  const bool need_horizontal = out_width != width;
  const bool need_vertical = out_height != height;
  if (need_horizontal && need_vertical) {
    const Coefficients ch = precompute(width, out_width, spec, win_x, win_width);
    const Coefficients cv = precompute(height, out_height, spec, win_y, win_height);
    // Only the input rows the window's vertical taps read go through the horizontal pass (the
    // first and last output rows bound them: Pillow's ybox_first and ybox_last).
    const int row0 = cv.first.front();
    const int row1 = cv.first.back() + cv.count.back();
    std::vector<std::uint8_t> temp(static_cast<std::size_t>(row1 - row0) * win_width *
                                   3);  // [row1 - row0, win_width, 3]
    horizontal_rows(src + static_cast<std::size_t>(row0) * width * 3, width, row1 - row0, ch,
                    temp.data());
    vertical_rows(temp.data(), win_width, row0, cv, 0, win_width, dst);
  } else if (need_horizontal) {
    const Coefficients ch = precompute(width, out_width, spec, win_x, win_width);
    horizontal_rows(src + static_cast<std::size_t>(win_y) * width * 3, width, win_height, ch, dst);
  } else if (need_vertical) {
    const Coefficients cv = precompute(height, out_height, spec, win_y, win_height);
    vertical_rows(src, width, 0, cv, win_x, win_width, dst);
  } else {
    for (int y = 0; y < win_height; ++y) {
      std::memcpy(dst + static_cast<std::size_t>(y) * win_width * 3,
                  src + (static_cast<std::size_t>(win_y + y) * width + win_x) * 3,
                  static_cast<std::size_t>(win_width) * 3);
    }
  }
}

}  // namespace zeroshot::image
