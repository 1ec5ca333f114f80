// decode_bench: per image, decode + preprocess (CLIP's 224 shortest edge + centre crop) with the
// whole decode (exact) and the reduced one (fast), interleaved image by image, round after round;
// medians of the decode, the resample (resize + crop + normalise) and their sum, and the cosine of
// the preprocessed pixels fast vs exact (minimum over the images). bench/decode_bench.sh runs it
// next to Pillow and the batch CLI (bench/README.md, "Decoding").
//   decode_bench [--repeats N] [--margin M] IMAGE...
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"

namespace {

using zeroshot::image::PreprocessParams;
using zeroshot::image::Reduction;
using zeroshot::image::RgbImage;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Times {
  std::vector<double> decode, resample;
};

}  // namespace

int main(int argc, char** argv) {
  int repeats = 3;
  double margin = 2.0;
  std::vector<std::string> images;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc) {
      repeats = std::atoi(argv[++i]);
    } else if (a == "--margin" && i + 1 < argc) {
      margin = std::atof(argv[++i]);
    } else {
      images.push_back(a);
    }
  }
  if (images.empty()) {
    std::fprintf(stderr, "usage: decode_bench [--repeats N] [--margin M] IMAGE...\n");
    return 2;
  }
  PreprocessParams params;
  params.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  params.std = {0.26862954f, 0.26130258f, 0.27577711f};
  const Reduction fast{.shortest_edge = 224, .margin = margin};
  Times exact_t, fast_t;
  double min_cos = 1.0;
  int reduced_by = 1, width = 0, height = 0;
  std::vector<float> a(3 * 224 * 224), b(3 * 224 * 224);
  for (int round = 0; round <= repeats; ++round) {  // round 0: warm-up, not counted
    for (const auto& path : images) {
      auto t = Clock::now();
      const RgbImage e = zeroshot::image::decode_file(path, 0);
      const double ed = ms_since(t);
      t = Clock::now();
      zeroshot::image::preprocess(e.pixels.data(), e.width, e.height, params, a.data());
      const double er = ms_since(t);
      t = Clock::now();
      const RgbImage f = zeroshot::image::decode_file(path, 0, fast);
      const double fd = ms_since(t);
      t = Clock::now();
      zeroshot::image::preprocess(f.pixels.data(), f.width, f.height, params, b.data());
      const double fr = ms_since(t);
      if (round == 0) {
        double dot = 0, na = 0, nb = 0;
        for (std::size_t k = 0; k < a.size(); ++k) {
          dot += static_cast<double>(a[k]) * b[k];
          na += static_cast<double>(a[k]) * a[k];
          nb += static_cast<double>(b[k]) * b[k];
        }
        min_cos = std::min(min_cos, dot / std::sqrt(na * nb));
        reduced_by = f.reduced_by;
        width = e.width;
        height = e.height;
        continue;
      }
      exact_t.decode.push_back(ed);
      exact_t.resample.push_back(er);
      fast_t.decode.push_back(fd);
      fast_t.resample.push_back(fr);
    }
  }
  const double edm = median(exact_t.decode), erm = median(exact_t.resample);
  const double fdm = median(fast_t.decode), frm = median(fast_t.resample);
  std::printf("%dx%d, %zu images x %d rounds, medians per image (ms):\n", width, height,
              images.size(), repeats);
  std::printf("  exact: decode %8.1f  resample %6.1f  total %8.1f  (resample / decode %.3f)\n", edm,
              erm, edm + erm, erm / edm);
  std::printf("  fast:  decode %8.1f  resample %6.1f  total %8.1f  (reduced by %d, margin %.1f)\n",
              fdm, frm, fdm + frm, reduced_by, margin);
  std::printf("  fast / exact total: %.3f; preprocessed pixels cosine(fast, exact) min %.7f\n",
              (fdm + frm) / (edm + erm), min_cos);
  return 0;
}
