// Fast decoding (image::Reduction: JPEG's DCT scaling, WebP's scaled decode) against the whole
// decode: which factor is chosen, bit-identical results where nothing is reduced, close results
// on camera-size pictures (made here with libvips from fixture images, with noise), EXIF
// orientation, CMYK and alpha as in the whole decode, the pixel limit on the stored size, and the
// same errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"
#include "support/pictures.h"
#include "zeroshot/error.h"

namespace zeroshot::image {
namespace {

namespace fs = std::filesystem;
using test::make_picture;
using test::PictureSpec;

const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";
constexpr std::uint64_t kMaxPixels = 100'000'000;
// What the CLIP models' preprocessing asks of a fast decode (Model::decode_options).
constexpr Reduction kClip{.shortest_edge = 224, .margin = 2.0};

PreprocessParams clip_params() {
  PreprocessParams p;
  p.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  p.std = {0.26862954f, 0.26130258f, 0.27577711f};
  return p;
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::vector<float> preprocessed(const RgbImage& image) {
  std::vector<float> out(3 * 224 * 224);
  preprocess(image.pixels.data(), image.width, image.height, clip_params(), out.data());
  return out;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

class FastDecode : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zs_fast_decode_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  fs::path dir_;
};

TEST(ReductionFactor, LargestPowerOfTwoAboveTheMargin) {
  // Short edge 3000 against 2 x 224 = 448: 3000 / 4 = 750 fits, 3000 / 8 = 375 does not.
  EXPECT_EQ(reduction_factor(4000, 3000, 1, kClip), 4);
  EXPECT_EQ(reduction_factor(3000, 4000, 1, kClip), 4);
  EXPECT_EQ(reduction_factor(8000, 6000, 1, kClip), 8);  // 750
  EXPECT_EQ(reduction_factor(1600, 1200, 1, kClip), 2);  // 600
  EXPECT_EQ(reduction_factor(1200, 895, 1, kClip), 1);   // 447 < 448
  EXPECT_EQ(reduction_factor(1200, 896, 1, kClip), 2);   // exactly 448
  EXPECT_EQ(reduction_factor(640, 480, 1, kClip), 1);
  EXPECT_EQ(reduction_factor(1, 20000, 1, kClip), 1);  // a strip's short edge rules
  EXPECT_EQ(reduction_factor(100000, 100000, 1, kClip), 8);
  // A larger margin reduces less; below 1, or without a target, nothing is reduced.
  EXPECT_EQ(reduction_factor(8000, 6000, 1, {.shortest_edge = 224, .margin = 3.0}), 8);  // 750
  EXPECT_EQ(reduction_factor(4000, 3000, 1, {.shortest_edge = 224, .margin = 3.0}), 4);  // 750
  EXPECT_EQ(reduction_factor(4000, 3000, 1, {.shortest_edge = 224, .margin = 4.0}), 2);  // 1500
  EXPECT_EQ(reduction_factor(8000, 6000, 1, {.shortest_edge = 224, .margin = 0.5}), 1);
  EXPECT_EQ(reduction_factor(8000, 6000, 1, {.margin = 2.0}), 1);
  // An exact-size target (SigLIP) bounds each dimension as displayed: orientations 5..8 swap the
  // stored width and height.
  const Reduction wide{.width = 448, .height = 224, .margin = 2.0};
  EXPECT_EQ(reduction_factor(8000, 2000, 1, wide), 4);  // 8000/4 >= 896, 2000/4 >= 448
  EXPECT_EQ(reduction_factor(2000, 8000, 1, wide), 2);  // 2000/2 >= 896
  EXPECT_EQ(reduction_factor(2000, 8000, 6, wide), 4);  // displayed 8000x2000
  EXPECT_EQ(reduction_factor(8000, 2000, 8, wide), 2);  // displayed 2000x8000
}

TEST(FastDecodeFixtures, SmallPicturesDecodeBitForBitAsExact) {
  // Every fixture image with a CLIP target: only the 1600x1200 JPEG is large enough to reduce.
  int compared = 0;
  for (const auto& entry : fs::directory_iterator(kImages)) {
    const std::string path = entry.path().string();
    if (entry.path().extension() == ".json") continue;
    SCOPED_TRACE(path);
    const RgbImage exact = decode_file(path, kMaxPixels);
    const RgbImage fast = decode_file(path, kMaxPixels, kClip);
    if (entry.path().filename() == "large_1600x1200_q90.jpg") {
      EXPECT_EQ(fast.reduced_by, 2);
      EXPECT_EQ(fast.width, 800);
      EXPECT_EQ(fast.height, 600);
      EXPECT_GT(cosine(preprocessed(exact), preprocessed(fast)), 0.9999);
      continue;
    }
    EXPECT_EQ(fast.reduced_by, 1);
    EXPECT_EQ(fast.width, exact.width);
    EXPECT_EQ(fast.height, exact.height);
    EXPECT_TRUE(fast.pixels == exact.pixels);
    ++compared;
  }
  EXPECT_GE(compared, 25);
}

TEST(FastDecodeFixtures, OnlyJpegAndWebpAreReduced) {
  // A target so small that anything reducible is reduced: PNG (8- and 16-bit, palette, alpha),
  // GIF, TIFF and BMP still decode whole and identical; JPEG (RGB, grey, CMYK, EXIF) and WebP
  // (lossy, lossless) come out reduced.
  const Reduction tiny{.shortest_edge = 8, .margin = 2.0};
  for (const auto& entry : fs::directory_iterator(kImages)) {
    const std::string path = entry.path().string();
    const std::string ext = entry.path().extension().string();
    if (ext == ".json") continue;
    SCOPED_TRACE(path);
    const RgbImage exact = decode_file(path, kMaxPixels);
    const RgbImage fast = decode_file(path, kMaxPixels, tiny);
    const int expected = reduction_factor(exact.width, exact.height, 1, tiny);
    if (ext == ".jpg" || ext == ".webp") {
      EXPECT_EQ(fast.reduced_by, expected);
      EXPECT_GT(fast.reduced_by, 1);
      // libjpeg rounds a reduced size up; libwebp to nearest.
      EXPECT_NEAR(fast.width, exact.width / static_cast<double>(expected), 1.0);
      EXPECT_NEAR(fast.height, exact.height / static_cast<double>(expected), 1.0);
    } else {
      EXPECT_EQ(fast.reduced_by, 1);
      EXPECT_TRUE(fast.pixels == exact.pixels);
    }
  }
}

TEST_F(FastDecode, CameraPicturesStayCloseToExact) {
  // 12 MP JPEG (q92, noise) from the 1600x1200 fixture: reduced by 4 to 1000x750, preprocessed
  // pixels within cosine 0.9999 of the whole decode's; the same from a file and a buffer.
  const std::string bytes = make_picture(kImages + "large_1600x1200_q90.jpg", {});
  const std::string path = write("camera.jpg", bytes);
  const RgbImage exact = decode_file(path, kMaxPixels);
  const RgbImage fast = decode_file(path, kMaxPixels, kClip);
  ASSERT_EQ(exact.width, 4000);
  ASSERT_EQ(exact.height, 3000);
  EXPECT_EQ(fast.reduced_by, 4);
  EXPECT_EQ(fast.width, 1000);
  EXPECT_EQ(fast.height, 750);
  EXPECT_GT(cosine(preprocessed(exact), preprocessed(fast)), 0.9999);
  const RgbImage from_buffer = decode_buffer(as_bytes(bytes), kMaxPixels, kClip);
  EXPECT_EQ(from_buffer.reduced_by, 4);
  EXPECT_TRUE(from_buffer.pixels == fast.pixels);
}

TEST_F(FastDecode, ExifOrientationIsAppliedToTheReducedImage) {
  // The same pixels stored with and without orientation 6: the reduction applies to the stored
  // size, the rotation after it, exactly as apply_exif_orientation on the unrotated fast decode.
  PictureSpec spec{.width = 2400, .height = 1800, .noise = 0};
  const std::string plain = make_picture(kImages + "scene_640x480.png", spec);
  spec.orientation = 6;
  const std::string rotated = make_picture(kImages + "scene_640x480.png", spec);
  const RgbImage a = decode_buffer(as_bytes(plain), kMaxPixels, kClip);
  const RgbImage b = decode_buffer(as_bytes(rotated), kMaxPixels, kClip);
  EXPECT_EQ(a.reduced_by, 4);
  EXPECT_EQ(b.reduced_by, 4);
  EXPECT_EQ(b.width, 450);
  EXPECT_EQ(b.height, 600);
  const RgbImage expected = apply_exif_orientation(a.pixels.data(), a.width, a.height, 6);
  EXPECT_TRUE(b.pixels == expected.pixels);
  const RgbImage exact = decode_buffer(as_bytes(rotated), kMaxPixels);
  EXPECT_EQ(exact.width, 1800);
  EXPECT_EQ(exact.height, 2400);
  EXPECT_GT(cosine(preprocessed(exact), preprocessed(b)), 0.9999);
}

TEST_F(FastDecode, CmykAndAlphaAsInExact) {
  // A CMYK JPEG (converted as PIL does, after the reduction) and a WebP with alpha (dropped).
  const std::string cmyk =
      make_picture(kImages + "scene_640x480.png", {.width = 2000, .height = 1600, .cmyk = true});
  const std::string alpha =
      make_picture(kImages + "scene_640x480.png",
                   {.width = 2000, .height = 1600, .format = ".webp", .alpha = true});
  for (const std::string* bytes : {&cmyk, &alpha}) {
    const RgbImage exact = decode_buffer(as_bytes(*bytes), kMaxPixels);
    const RgbImage fast = decode_buffer(as_bytes(*bytes), kMaxPixels, kClip);
    EXPECT_EQ(fast.reduced_by, 2);
    EXPECT_GT(cosine(preprocessed(exact), preprocessed(fast)), 0.9999);
  }
}

TEST_F(FastDecode, PixelLimitIsCheckedOnTheStoredSize) {
  // 12 MP refused at 12 MP - 1 although its reduced decode is 0.75 MP: the same error as exact.
  const std::string bytes = make_picture(kImages + "large_1600x1200_q90.jpg", {.noise = 0});
  const std::string path = write("camera.jpg", bytes);
  for (std::uint64_t limit : {std::uint64_t{12'000'000 - 1}, std::uint64_t{750'000}}) {
    std::string exact_message;
    try {
      decode_file(path, limit);
      ADD_FAILURE();
    } catch (const Error& e) {
      exact_message = e.what();
    }
    try {
      decode_file(path, limit, kClip);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kImageTooLarge);
      EXPECT_EQ(std::string(e.what()), exact_message);
    }
  }
  EXPECT_EQ(decode_file(path, 12'000'000, kClip).reduced_by, 4);
}

// Both decodes of `bytes` (from a buffer and a file) end alike: the same pixels, or the same error
// code and message. Returns whether the whole decode failed.
bool expect_same_outcome(const std::string& bytes, const std::string& path) {
  bool failed = false;
  for (bool from_file : {false, true}) {
    const auto decode = [&](const Reduction& r) {
      return from_file ? decode_file(path, kMaxPixels, r)
                       : decode_buffer(as_bytes(bytes), kMaxPixels, r);
    };
    std::string exact_error;
    ErrorCode exact_code = ErrorCode::kInternal;
    try {
      (void)decode({});
    } catch (const Error& e) {
      exact_error = e.what();
      exact_code = e.code();
    }
    try {
      (void)decode({.shortest_edge = 8, .margin = 2.0});
      EXPECT_EQ(exact_error, "") << "only the fast decode succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), exact_code) << e.what();
      EXPECT_EQ(std::string(e.what()), exact_error);
    }
    failed = !exact_error.empty();
  }
  return failed;
}

TEST_F(FastDecode, BadInputGivesTheSameErrors) {
  const std::string good =
      make_picture(kImages + "large_1600x1200_q90.jpg", {.width = 2000, .height = 1500});
  // Truncated inside the header and inside the entropy-coded data.
  for (std::size_t n : {std::size_t{20}, std::size_t{200}, good.size() / 4, good.size() / 2}) {
    const std::string cut = good.substr(0, n);
    EXPECT_TRUE(expect_same_outcome(cut, write("cut.jpg", cut))) << n;
  }
  // A header that lies: the frame header (SOF0) claims 8000x6000 for 2000x1500's data (libjpeg
  // meets the end marker early, a warning, and both decodes fill the rest alike); then 60000 x
  // 60000, above the pixel limit.
  const std::size_t sof = good.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  std::string lying = good;
  const auto put16 = [&](std::size_t at, int v) {
    lying[at] = static_cast<char>(v >> 8);
    lying[at + 1] = static_cast<char>(v & 0xff);
  };
  put16(sof + 5, 6000);  // height
  put16(sof + 7, 8000);  // width
  expect_same_outcome(lying, write("lying.jpg", lying));
  put16(sof + 5, 60000);
  put16(sof + 7, 60000);
  EXPECT_TRUE(expect_same_outcome(lying, write("huge.jpg", lying)));
  // Corrupt entropy-coded data: random bytes over the middle (libjpeg may decode past some of it,
  // as the whole decode does).
  std::mt19937 rng(7);
  for (int round = 0; round < 8; ++round) {
    std::string corrupt = good;
    const std::size_t at = good.size() / 3 + rng() % (good.size() / 3);
    for (std::size_t i = at; i < at + 64; ++i) corrupt[i] = static_cast<char>(rng());
    expect_same_outcome(corrupt, write("corrupt.jpg", corrupt));
  }
  // A 1x20000 strip (JPEG and WebP's limits aside): nothing to reduce, the same pixels.
  const std::string strip =
      make_picture(kImages + "scene_640x480.png", {.width = 1, .height = 20000, .noise = 0});
  const RgbImage exact = decode_buffer(as_bytes(strip), kMaxPixels);
  const RgbImage fast = decode_buffer(as_bytes(strip), kMaxPixels, kClip);
  EXPECT_EQ(fast.reduced_by, 1);
  EXPECT_TRUE(fast.pixels == exact.pixels);
  EXPECT_FALSE(expect_same_outcome(strip, write("strip.jpg", strip)));
}

}  // namespace
}  // namespace zeroshot::image
