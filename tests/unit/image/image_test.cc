// The image module against the independent references in tests/fixtures: reference/tiny-clip.json
// (computed with Pillow 9.4 + Hugging Face's CLIPImageProcessor semantics) and
// reference/crops/*.png (the 224x224 uint8 crops Pillow produced).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"
#include "zeroshot/error.h"

namespace zeroshot::image {
namespace {

const std::string kFixtures = ZEROSHOT_FIXTURES;
constexpr std::uint64_t kMaxPixels = 100'000'000;

const nlohmann::json& reference() {
  static const nlohmann::json json = [] {
    std::ifstream in(kFixtures + "/reference/tiny-clip.json");
    return nlohmann::json::parse(in);
  }();
  return json;
}

PreprocessParams clip_params() {
  PreprocessParams p;
  p.mean = {0.48145466f, 0.4578275f, 0.40821073f};
  p.std = {0.26862954f, 0.26130258f, 0.27577711f};
  return p;
}

std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(), [](char c) { return std::byte(c); });
  return bytes;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("zeroshot_image_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void write_file(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xffffffffu;
}

void put_be32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<std::uint8_t>(x >> s));
}

// A PNG written by hand (PNG spec): signature, IHDR declaring width x height with `bit_depth` and
// `color_type`, one IDAT holding `idat` verbatim, IEND.
std::vector<std::byte> make_png(std::uint32_t width, std::uint32_t height, std::uint8_t bit_depth,
                                std::uint8_t color_type, const std::vector<std::uint8_t>& idat) {
  std::vector<std::uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto chunk = [&](const char* type, const std::vector<std::uint8_t>& data) {
    put_be32(out, static_cast<std::uint32_t>(data.size()));
    std::vector<std::uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    out.insert(out.end(), body.begin(), body.end());
    put_be32(out, crc32(body.data(), body.size()));
  };
  std::vector<std::uint8_t> ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {bit_depth, color_type, 0, 0, 0});  // deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", idat);
  chunk("IEND", {});
  std::vector<std::byte> bytes(out.size());
  std::transform(out.begin(), out.end(), bytes.begin(),
                 [](std::uint8_t c) { return std::byte(c); });
  return bytes;
}

// A zlib stream (RFC 1950) holding `data` in one stored (uncompressed) deflate block.
std::vector<std::uint8_t> zlib_stored(const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> z = {0x78, 0x01, 0x01};  // header; final stored block
  const auto len = static_cast<std::uint16_t>(data.size());
  z.insert(z.end(), {static_cast<std::uint8_t>(len), static_cast<std::uint8_t>(len >> 8),
                     static_cast<std::uint8_t>(~len), static_cast<std::uint8_t>(~len >> 8)});
  z.insert(z.end(), data.begin(), data.end());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (std::uint8_t c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  put_be32(z, (b << 16) | a);
  return z;
}

std::vector<std::byte> png_header_only(std::uint32_t width, std::uint32_t height) {
  return make_png(width, height, 8, 2, {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
}

int python_floor_half(int v) { return static_cast<int>(std::floor(v / 2.0)); }

// Every reference image: decode, resize, crop, normalise, compared with what Pillow + HF produced.
TEST(ImageReference, EveryImageMatchesTheReferenceCrop) {
  const nlohmann::json& images = reference()["images"];
  ASSERT_EQ(images.size(), 30u);
  const PreprocessParams params = clip_params();
  int compared_exactly = 0;
  for (const nlohmann::json& entry : images) {
    const std::string id = entry["id"];
    const std::string file = entry["file"];
    const std::string variant = entry["variant"];
    SCOPED_TRACE(id);
    const RgbImage decoded = decode_file(kFixtures + "/images/" + file, kMaxPixels);
    // The raw entry of the EXIF file is Pillow's unrotated reading; we apply the orientation, so
    // the "@exif_transposed" entry is the one to match.
    if (starts_with(file, "exif_") && variant == "raw") continue;
    EXPECT_EQ(decoded.height, entry["decoded_hw"][0].get<int>());
    EXPECT_EQ(decoded.width, entry["decoded_hw"][1].get<int>());
    ASSERT_EQ(decoded.pixels.size(), static_cast<std::size_t>(decoded.width) * decoded.height * 3);

    const ImageSize resized = resized_size(decoded.width, decoded.height, 224);
    EXPECT_EQ(resized.height, entry["resized_hw"][0].get<int>());
    EXPECT_EQ(resized.width, entry["resized_hw"][1].get<int>());
    EXPECT_EQ(python_floor_half(resized.height - 224), entry["crop_top_left"][0].get<int>());
    EXPECT_EQ(python_floor_half(resized.width - 224), entry["crop_top_left"][1].get<int>());

    const RgbImage crop =
        resize_and_crop(decoded.pixels.data(), decoded.width, decoded.height, params);
    ASSERT_EQ(crop.width, 224);
    ASSERT_EQ(crop.height, 224);

    // gray16_*: Pillow 9.4 clamps 16-bit grey to 255 when converting "I" to "RGB", where we keep
    // the high byte (a deliberate difference, fixtures/README.md). CMYK is converted as Pillow
    // does (no colour profile), so cmyk_* crops are compared like the others.
    if (starts_with(file, "gray16_")) continue;
    const RgbImage expected =
        decode_file(kFixtures + "/" + entry["crop_png"].get<std::string>(), kMaxPixels);
    ASSERT_EQ(expected.width, 224);
    ASSERT_EQ(expected.height, 224);
    int max_diff = 0;
    double sum_diff = 0;
    for (std::size_t i = 0; i < crop.pixels.size(); ++i) {
      const int d = std::abs(int(crop.pixels[i]) - int(expected.pixels[i]));
      max_diff = std::max(max_diff, d);
      sum_diff += d;
    }
    const bool lossy = ends_with(file, ".jpg") || ends_with(file, "_lossy.webp");
    EXPECT_LE(max_diff, lossy ? 1 : 0) << "mean abs diff " << sum_diff / crop.pixels.size();
    if (max_diff != 0) continue;

    // Identical crops: the float pixel values must match HF's within 1e-6.
    ++compared_exactly;
    std::vector<float> values(3 * 224 * 224);  // [3, 224, 224]
    preprocess(decoded.pixels.data(), decoded.width, decoded.height, params, values.data());
    for (const nlohmann::json& sample : entry["pixel_values"]["samples"]) {
      const int c = sample["c"], y = sample["y"], x = sample["x"];
      EXPECT_NEAR(values[(static_cast<std::size_t>(c) * 224 + y) * 224 + x],
                  sample["v"].get<double>(), 1e-6)
          << "c=" << c << " y=" << y << " x=" << x;
    }
    for (int c = 0; c < 3; ++c) {
      double mean = 0;
      for (int i = 0; i < 224 * 224; ++i) mean += values[c * 224 * 224 + i];
      EXPECT_NEAR(mean / (224 * 224), entry["pixel_values"]["mean"][c].get<double>(), 1e-5);
    }
  }
  EXPECT_GE(compared_exactly, 20);
}

// SigLIP's preprocessing: every fixture image resized to exactly 224x224 (aspect ratio not kept,
// no crop) against Pillow 9.4's Image.resize((224, 224), BICUBIC) of the same image
// (fixtures/siglip/resized, made by make_siglip_fixtures.py), then rescaled and normalised with
// mean = std = 0.5.
// Pillow's resize with each filter on every fixture image (siglip/make_resample_fixtures.py):
// bilinear to 224x224 (SigLIP 2's preprocessor), and all five filters to a small non-square size.
TEST(ImageReference, EveryImageMatchesPillowWithEveryFilter) {
  struct Target {
    int resample, width, height;
    std::string path;  // of the reference, with {} for the image's file name
  };
  std::vector<Target> targets = {{2, 224, 224, "/siglip/resized-bilinear/{}.png"}};
  for (int f : {1, 2, 3, 4, 5})
    targets.push_back({f, 57, 43, "/siglip/resized-small/{}." + std::to_string(f) + ".png"});
  int compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/images")) {
    const std::string file = entry.path().filename().string();
    if (file == "manifest.json" || starts_with(file, "gray16_")) continue;  // as above
    const RgbImage decoded = decode_file(entry.path().string(), kMaxPixels);
    for (const Target& t : targets) {
      SCOPED_TRACE(file + " resample " + std::to_string(t.resample) + " " +
                   std::to_string(t.width) + "x" + std::to_string(t.height));
      PreprocessParams params = clip_params();
      params.do_center_crop = false;
      params.resize_height = t.height;
      params.resize_width = t.width;
      params.resample = t.resample;
      const RgbImage resized =
          resize_and_crop(decoded.pixels.data(), decoded.width, decoded.height, params);
      std::string ref = t.path;
      ref.replace(ref.find("{}"), 2, file);
      const RgbImage expected = decode_file(kFixtures + ref, kMaxPixels);
      ASSERT_EQ(resized.width, t.width);
      ASSERT_EQ(resized.height, t.height);
      ASSERT_EQ(expected.pixels.size(), resized.pixels.size());
      int max_diff = 0;
      for (std::size_t i = 0; i < resized.pixels.size(); ++i)
        max_diff = std::max(max_diff, std::abs(int(resized.pixels[i]) - int(expected.pixels[i])));
      const bool lossy = ends_with(file, ".jpg") || ends_with(file, "_lossy.webp");
      EXPECT_LE(max_diff, lossy ? 1 : 0);
      ++compared;
    }
  }
  EXPECT_GE(compared, 27 * 6);
}

TEST(ImageReference, EveryImageMatchesPillowsExactResize) {
  PreprocessParams params = clip_params();
  params.do_center_crop = false;
  params.resize_height = params.resize_width = 224;
  params.mean = params.std = {0.5f, 0.5f, 0.5f};
  int compared = 0, exact = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "/images")) {
    const std::string file = entry.path().filename().string();
    if (file == "manifest.json") continue;
    SCOPED_TRACE(file);
    const RgbImage decoded = decode_file(entry.path().string(), kMaxPixels);
    const ImageSize out = output_size(decoded.width, decoded.height, params);
    EXPECT_EQ(out.height, 224);
    EXPECT_EQ(out.width, 224);
    const RgbImage resized =
        resize_and_crop(decoded.pixels.data(), decoded.width, decoded.height, params);
    ASSERT_EQ(resized.width, 224);
    ASSERT_EQ(resized.height, 224);
    if (starts_with(file, "gray16_")) continue;  // Pillow clamps 16-bit grey (as above)
    const RgbImage expected =
        decode_file(kFixtures + "/siglip/resized/" + file + ".png", kMaxPixels);
    ASSERT_EQ(expected.pixels.size(), resized.pixels.size());
    int max_diff = 0;
    for (std::size_t i = 0; i < resized.pixels.size(); ++i)
      max_diff = std::max(max_diff, std::abs(int(resized.pixels[i]) - int(expected.pixels[i])));
    // JPEG and lossy WebP decoders may round a few pixels differently (as for the crops).
    const bool lossy = ends_with(file, ".jpg") || ends_with(file, "_lossy.webp");
    EXPECT_LE(max_diff, lossy ? 1 : 0);
    ++compared;
    if (max_diff != 0) continue;
    ++exact;
    std::vector<float> values(3 * 224 * 224);  // [3, 224, 224]
    preprocess(decoded.pixels.data(), decoded.width, decoded.height, params, values.data());
    for (int c = 0; c < 3; ++c)
      for (int i = 0; i < 224 * 224; i += 997) {
        const double u8 = expected.pixels[static_cast<std::size_t>(i) * 3 + c];
        EXPECT_NEAR(values[static_cast<std::size_t>(c) * 224 * 224 + i], (u8 / 255.0 - 0.5) / 0.5,
                    1e-6);
      }
  }
  EXPECT_GE(compared, 27);
  EXPECT_GE(exact, 20);
}

TEST(ImageDecode, AnimatedGifGivesTheFirstFrame) {
  const RgbImage gif = decode_file(kFixtures + "/images/anim_2frames_160x120.gif", kMaxPixels);
  EXPECT_EQ(gif.width, 160);
  EXPECT_EQ(gif.height, 120);
  // The first frame's pixels are checked against Pillow in EveryImageMatchesTheReferenceCrop.
}

TEST(ImageDecode, BufferAndFileAgree) {
  for (const char* name : {"scene_640x480.png", "scene_640x480_q92.jpg", "scene_180x140.tiff",
                           "scene_150x110.bmp", "scene_640x480_lossless.webp",
                           "exif_orientation6_320x240.jpg", "anim_2frames_160x120.gif"}) {
    SCOPED_TRACE(name);
    const std::string path = kFixtures + "/images/" + name;
    const RgbImage from_file = decode_file(path, kMaxPixels);
    const std::vector<std::byte> bytes = read_bytes(path);
    const RgbImage from_buffer = decode_buffer(bytes, kMaxPixels);
    EXPECT_EQ(from_file.width, from_buffer.width);
    EXPECT_EQ(from_file.height, from_buffer.height);
    EXPECT_TRUE(from_file.pixels == from_buffer.pixels);
  }
}

TEST(ImageDecode, ExifOrientationIsApplied) {
  const RgbImage image =
      decode_file(kFixtures + "/images/exif_orientation6_320x240.jpg", kMaxPixels);
  EXPECT_EQ(image.width, 240);
  EXPECT_EQ(image.height, 320);
}

TEST(ImageDecode, LosslessWebpEqualsPng) {
  const RgbImage png = decode_file(kFixtures + "/images/scene_640x480.png", kMaxPixels);
  const RgbImage webp = decode_file(kFixtures + "/images/scene_640x480_lossless.webp", kMaxPixels);
  EXPECT_TRUE(png.pixels == webp.pixels);
}

TEST(ImageDecode, GreyIsReplicated) {
  for (const char* name : {"scene_gray_L.png", "scene_gray_LA.png", "gray16_240x180.png"}) {
    SCOPED_TRACE(name);
    const RgbImage image = decode_file(kFixtures + "/images/" + name, kMaxPixels);
    for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
      ASSERT_EQ(image.pixels[i], image.pixels[i + 1]);
      ASSERT_EQ(image.pixels[i], image.pixels[i + 2]);
    }
  }
  // Grey + alpha: alpha dropped, so the same pixels as the plain grey file.
  EXPECT_TRUE(decode_file(kFixtures + "/images/scene_gray_L.png", kMaxPixels).pixels ==
              decode_file(kFixtures + "/images/scene_gray_LA.png", kMaxPixels).pixels);
}

// Several threads decoding and preprocessing at once produce what one thread does.
// 16-bit samples keep their high byte: 0x01FF -> 1 and 0x80FF -> 128, where scaling by 255/65535
// with rounding would give 2 and 129.
TEST(ImageDecode, SixteenBitKeepsTheHighByte) {
  // Grey, 4x1: one filter byte (0 = none), then big-endian samples.
  const std::vector<std::byte> grey =
      make_png(4, 1, 16, 0, zlib_stored({0, 0x01, 0xFF, 0x80, 0xFF, 0xFF, 0x00, 0x00, 0xFF}));
  const RgbImage g = decode_buffer(grey, kMaxPixels);
  ASSERT_EQ(g.width, 4);
  EXPECT_EQ(g.pixels, (std::vector<std::uint8_t>{1, 1, 1, 128, 128, 128, 255, 255, 255, 0, 0, 0}));
  // RGBA, 2x1: alpha (here 0, fully transparent) is dropped, not composited.
  const std::vector<std::byte> rgba =
      make_png(2, 1, 16, 6,
               zlib_stored({0, 0x01, 0xFF, 0x80, 0xFF, 0xFE, 0x01, 0x00, 0x00,  //
                            0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0x00, 0x00}));
  const RgbImage c = decode_buffer(rgba, kMaxPixels);
  ASSERT_EQ(c.width, 2);
  EXPECT_EQ(c.pixels, (std::vector<std::uint8_t>{1, 128, 254, 0x12, 0x56, 0x9A}));
}

// The eight EXIF orientations on a 3x2 image "abc/def", as PIL's exif_transpose
// (Image.Transpose: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270,
// 7 TRANSVERSE, 8 ROTATE_90).
TEST(ImageDecode, ExifOrientations) {
  const std::string src = "abcdef";
  std::vector<std::uint8_t> rgb;
  for (char ch : src) rgb.insert(rgb.end(), {std::uint8_t(ch), std::uint8_t(ch), std::uint8_t(ch)});
  struct Case {
    int orientation, width, height;
    std::string pixels;
  };
  for (const Case& t :
       {Case{1, 3, 2, "abcdef"}, Case{2, 3, 2, "cbafed"}, Case{3, 3, 2, "fedcba"},
        Case{4, 3, 2, "defabc"}, Case{5, 2, 3, "adbecf"}, Case{6, 2, 3, "daebfc"},
        Case{7, 2, 3, "fcebda"}, Case{8, 2, 3, "cfbead"}, Case{0, 3, 2, "abcdef"}}) {
    SCOPED_TRACE(t.orientation);
    const RgbImage out = apply_exif_orientation(rgb.data(), 3, 2, t.orientation);
    ASSERT_EQ(out.width, t.width);
    ASSERT_EQ(out.height, t.height);
    std::string got;
    for (std::size_t i = 0; i < out.pixels.size(); i += 3) got.push_back(char(out.pixels[i]));
    EXPECT_EQ(got, t.pixels);
  }
}

TEST(ImageDecode, ConcurrentDecodesAgree) {
  const std::vector<std::string> names = {"scene_640x480_q92.jpg", "palette_P_tRNS_200x160.png",
                                          "rgb16_200x150.png", "scene_640x480_lossy.webp"};
  std::vector<RgbImage> expected;
  for (const auto& n : names)
    expected.push_back(decode_file(kFixtures + "/images/" + n, kMaxPixels));
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        const std::size_t i = static_cast<std::size_t>(t + round) % names.size();
        const RgbImage image = decode_file(kFixtures + "/images/" + names[i], kMaxPixels);
        if (image.pixels != expected[i].pixels) ++mismatches[t];
        try {
          (void)decode_buffer(std::span<const std::byte>(), kMaxPixels);
        } catch (const Error&) {
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 8; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// --- errors ----------------------------------------------------------------------------------

template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error thrown, expected code " << static_cast<int>(code);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ImageErrors, MissingFile) {
  const std::string path = kFixtures + "/images/does_not_exist.png";
  expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageRead, path);
}

TEST(ImageErrors, Directory) {
  const std::string path = kFixtures + "/images";
  expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageRead, path);
}

TEST(ImageErrors, RandomBytes) {
  std::vector<std::byte> bytes(4096);
  std::uint32_t state = 12345;
  for (auto& b : bytes) {
    state = state * 1664525u + 1013904223u;
    b = std::byte(state >> 24);
  }
  expect_error([&] { decode_buffer(bytes, kMaxPixels); }, ErrorCode::kImageDecode, "image buffer");
  const std::string path = temp_path("random.png");
  write_file(path, bytes);
  expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageDecode, path);
  std::filesystem::remove(path);
  expect_error([&] { decode_buffer(std::span<const std::byte>(), kMaxPixels); },
               ErrorCode::kImageDecode, "image buffer");
}

TEST(ImageErrors, TruncatedPngAndJpeg) {
  for (const char* name : {"scene_640x480.png", "scene_640x480_q92.jpg"}) {
    SCOPED_TRACE(name);
    std::vector<std::byte> bytes = read_bytes(kFixtures + "/images/" + name);
    bytes.resize(bytes.size() / 2);
    expect_error([&] { decode_buffer(bytes, kMaxPixels); }, ErrorCode::kImageDecode,
                 "image buffer");
    const std::string path = temp_path(std::string("truncated_") + name);
    write_file(path, bytes);
    expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageDecode, path);
    std::filesystem::remove(path);
  }
}

TEST(ImageErrors, DecompressionBombIsRefusedFromTheHeader) {
  const std::vector<std::byte> bomb = png_header_only(100000, 100000);
  expect_error([&] { decode_buffer(bomb, kMaxPixels); }, ErrorCode::kImageTooLarge,
               "100000x100000");
  const std::string path = temp_path("bomb.png");
  write_file(path, bomb);
  expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageTooLarge, path);
  expect_error([&] { decode_file(path, kMaxPixels); }, ErrorCode::kImageTooLarge, "100000000");
  std::filesystem::remove(path);
  // A real image above a small limit.
  expect_error([&] { decode_file(kFixtures + "/images/scene_640x480.png", 640 * 480 - 1); },
               ErrorCode::kImageTooLarge, "640x480");
  EXPECT_NO_THROW(decode_file(kFixtures + "/images/scene_640x480.png", 640 * 480));
}

TEST(ImageErrors, ZeroSizedImage) {
  expect_error([&] { decode_buffer(png_header_only(0, 0), kMaxPixels); }, ErrorCode::kImageDecode,
               "image buffer");
}

// --- preprocessing ---------------------------------------------------------------------------

TEST(ImagePreprocess, ResizedSizeTruncatesLikeHf) {
  // int(224 * 301 / 225) = int(299.662...) = 299; int(224 * 263 / 257) = int(229.229...) = 229.
  EXPECT_EQ(resized_size(225, 301, 224).height, 299);
  EXPECT_EQ(resized_size(225, 301, 224).width, 224);
  EXPECT_EQ(resized_size(257, 263, 224).height, 229);
  EXPECT_EQ(resized_size(7, 3, 224).width, 522);
  EXPECT_EQ(resized_size(1, 1, 224).width, 224);
}

TEST(ImagePreprocess, EveryFilterKeepsAConstantImage) {
  std::vector<std::uint8_t> rgb(37 * 23 * 3);
  for (std::size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = 10;
    rgb[i + 1] = 128;
    rgb[i + 2] = 250;
  }
  for (int resample : {1, 2, 3, 4, 5}) {
    SCOPED_TRACE(resample);
    PreprocessParams p = clip_params();
    p.resample = resample;
    p.shortest_edge = 64;
    p.crop_height = 50;
    p.crop_width = 60;
    const RgbImage out = resize_and_crop(rgb.data(), 37, 23, p);
    ASSERT_EQ(out.width, 60);
    ASSERT_EQ(out.height, 50);
    for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
      ASSERT_EQ(out.pixels[i], 10);
      ASSERT_EQ(out.pixels[i + 1], 128);
      ASSERT_EQ(out.pixels[i + 2], 250);
    }
  }
}

TEST(ImagePreprocess, BoxHalvingAverages) {
  // BOX filter, 4x2 -> 2x1: each pass averages two values and rounds half up (Pillow rounds each
  // pass to uint8): (100 + 101) / 2 -> 101, (101 + 200) / 2 -> 151.
  const std::vector<std::uint8_t> rgb = {0, 0, 0, 10, 20, 30, 100, 100, 100, 101, 101, 101,
                                         2, 0, 0, 20, 40, 60, 200, 200, 200, 200, 200, 201};
  PreprocessParams p = clip_params();
  p.resample = 4;
  p.shortest_edge = 1;
  p.do_center_crop = false;
  const RgbImage out = resize_and_crop(rgb.data(), 4, 2, p);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 1);
  const std::vector<std::uint8_t> expected = {8, 15, 23, 151, 151, 151};
  EXPECT_EQ(out.pixels, expected);
}

TEST(ImagePreprocess, ZeroStdIsAModelError) {
  const std::vector<std::uint8_t> rgb(3 * 4 * 4, 7);
  PreprocessParams p = clip_params();
  p.std[1] = 0.0f;
  std::vector<float> values(3 * 224 * 224);
  expect_error([&] { preprocess(rgb.data(), 4, 4, p, values.data()); }, ErrorCode::kModelInvalid,
               "image_std");
}

TEST(ImageErrors, NotARegularFile) {
  expect_error([&] { decode_file("/dev/null", kMaxPixels); }, ErrorCode::kImageRead, "/dev/null");
}

TEST(ImagePreprocess, UnsupportedFilterIsAModelError) {
  const std::vector<std::uint8_t> rgb(3 * 4 * 4, 7);
  for (int resample : {0, 6, -1}) {
    PreprocessParams p = clip_params();
    p.resample = resample;
    expect_error([&] { resize_and_crop(rgb.data(), 4, 4, p); }, ErrorCode::kModelInvalid,
                 "resample");
  }
}

// HF's center_crop on an image smaller than the crop pads with zeros, the image placed
// ceil((crop - size) / 2) from the top and left.
TEST(ImagePreprocess, SmallImageIsPaddedAsHf) {
  std::vector<std::uint8_t> rgb(5 * 3 * 3);  // [3, 5, 3]
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i + 1);
  PreprocessParams p = clip_params();
  p.do_resize = false;
  p.crop_height = 8;
  p.crop_width = 8;
  const RgbImage out = resize_and_crop(rgb.data(), 5, 3, p);
  ASSERT_EQ(out.width, 8);
  ASSERT_EQ(out.height, 8);
  const int top_pad = 3, left_pad = 2;  // ceil(5 / 2), ceil(3 / 2)
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int sy = y - top_pad, sx = x - left_pad;
        const bool inside = sy >= 0 && sy < 3 && sx >= 0 && sx < 5;
        const int expected = inside ? rgb[(sy * 5 + sx) * 3 + c] : 0;
        ASSERT_EQ(out.pixels[(y * 8 + x) * 3 + c], expected) << y << "," << x << "," << c;
      }
    }
  }
  // Mixed: wider than the crop, shorter than it.
  p.crop_height = 4;
  p.crop_width = 3;
  const RgbImage mixed = resize_and_crop(rgb.data(), 5, 3, p);
  // top = (3 - 4) // 2 = -1 -> one padded row; left = (5 - 3) // 2 = 1.
  for (int x = 0; x < 3; ++x) EXPECT_EQ(mixed.pixels[x * 3], 0);
  EXPECT_EQ(mixed.pixels[(1 * 3 + 0) * 3], rgb[(0 * 5 + 1) * 3]);
}

TEST(ImagePreprocess, OutputSizeFollowsTheFlags) {
  PreprocessParams p = clip_params();
  EXPECT_EQ(output_size(640, 480, p).height, 224);
  p.do_center_crop = false;
  EXPECT_EQ(output_size(640, 480, p).width, 298);
  p.do_resize = false;
  EXPECT_EQ(output_size(640, 480, p).width, 640);
  EXPECT_EQ(output_size(640, 480, p).height, 480);
  std::vector<std::uint8_t> rgb(640 * 480 * 3, 0);
  std::vector<float> values(3 * 480 * 640);
  preprocess(rgb.data(), 640, 480, p, values.data());
  EXPECT_NEAR(values[0], (0.0f - 0.48145466f) / 0.26862954f, 1e-6);
}

TEST(ImagePreprocess, NoRescaleNoNormalizeGivesRawValues) {
  const std::vector<std::uint8_t> rgb = {1, 2, 3, 4, 5, 6};
  PreprocessParams p;
  p.do_resize = false;
  p.do_center_crop = false;
  p.do_rescale = false;
  p.do_normalize = false;
  std::vector<float> values(6);
  preprocess(rgb.data(), 2, 1, p, values.data());
  EXPECT_EQ(values, (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

// A batch is preprocessed image by image across the threads (each image's own passes then run on
// one thread): every image's floats must be exactly preprocess()'s, whatever its size, and a bad
// image's error must come out of the batch.
TEST(ImagePreprocess, BatchEqualsOneByOne) {
  const PreprocessParams params = clip_params();
  std::vector<RgbImage> decoded;
  for (const char* name : {"scene_640x480_q92.jpg", "large_1600x1200_q90.jpg", "odd_301x225.png",
                           "pixel_1x1.png", "exif_orientation6_320x240.jpg"}) {
    if (!std::filesystem::exists(kFixtures + "/images/" + name)) continue;
    decoded.push_back(decode_file(kFixtures + "/images/" + name, kMaxPixels));
  }
  ASSERT_GE(decoded.size(), 4u);
  const std::size_t floats = 3 * 224 * 224;
  std::vector<RgbView> views;
  for (const RgbImage& d : decoded) views.push_back({d.pixels.data(), d.width, d.height});
  std::vector<float> batch(views.size() * floats, -1.0f);
  preprocess_batch(views, params, floats, batch.data());
  for (std::size_t i = 0; i < decoded.size(); ++i) {
    SCOPED_TRACE(i);
    std::vector<float> one(floats);
    preprocess(decoded[i].pixels.data(), decoded[i].width, decoded[i].height, params, one.data());
    EXPECT_TRUE(std::equal(one.begin(), one.end(), batch.begin() + i * floats));
  }
  views.push_back({decoded[0].pixels.data(), 0, 5});  // no pixels: an error, not a crash
  batch.resize(views.size() * floats);
  try {
    preprocess_batch(views, params, floats, batch.data());
    FAIL() << "expected an error for the 0x5 image";
  } catch (const zeroshot::Error& e) {
    EXPECT_EQ(e.code(), zeroshot::ErrorCode::kInvalidArgument) << e.what();
  }
}

}  // namespace
}  // namespace zeroshot::image
