// Bad-input classes for images (docs/ERRORS.md, "Images"), through the public zeroshot::Image:
// every case gives its documented ErrorCode with a message naming the file (or "image buffer"),
// within a time bound, without decoding what a header merely declares.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "zeroshot/error.h"
#include "zeroshot/image.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;

const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";
// Hostile and animated inputs shared with the image fuzzer (tests/fuzz/make_image_corpus.py).
const std::string kCorpus = std::string(ZEROSHOT_FUZZ_CORPUS) + "/image_fuzz/";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

long peak_rss_mb() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

class ImageBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zs_img_bad_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Decodes `path` (and, for regular files, the same bytes from a buffer) and expects `code`, with
  // the path (or "image buffer") and `fragment` in the message. The same again with a fast decode
  // (DecodeMode::kFast, a target so small that every decodable JPEG or WebP would be reduced): the
  // same code and message (exactly, tests/unit/image/fast_decode_test.cc, for JPEG).
  void expect_error(const std::string& path, ErrorCode code, const std::string& fragment = "",
                    const DecodeOptions& options = {}) {
    SCOPED_TRACE(path);
    const auto start = std::chrono::steady_clock::now();
    DecodeOptions fast = options;
    fast.mode = DecodeMode::kFast;
    fast.target = {.shortest_edge = 1};
    std::string exact_message;
    try {
      Image::from_file(path, options);
      ADD_FAILURE() << "decoded";
    } catch (const Error& e) {
      exact_message = e.what();
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << e.what() << " lacks " << fragment;
    }
    expect_same_error([&] { Image::from_file(path, fast); }, code, exact_message);
    if (fs::is_regular_file(path)) {
      const std::string bytes = read_bytes(path);
      std::string buffer_message;
      try {
        Image::from_buffer(as_bytes(bytes), options);
        ADD_FAILURE() << "decoded from a buffer";
      } catch (const Error& e) {
        buffer_message = e.what();
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find("image buffer"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << e.what() << " lacks " << fragment;
      }
      expect_same_error([&] { Image::from_buffer(as_bytes(bytes), fast); }, code, buffer_message);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }

  // The same code, and the same message up to the decoder's own text ("PATH: cannot decode image:
  // ..."): what a decoder such as libMagick says may differ from one call to the next.
  template <typename Decode>
  static void expect_same_error(Decode decode, ErrorCode code, const std::string& message) {
    const auto head = [](const std::string& m) {
      const auto cut = m.find(": cannot decode image: ");
      return cut == std::string::npos ? m : m.substr(0, cut);
    };
    try {
      decode();
      ADD_FAILURE() << "decoded in fast mode";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << "fast: " << e.what();
      EXPECT_EQ(head(e.what()), head(message)) << "fast and exact differ";
    }
  }

  fs::path dir_;
};

TEST_F(ImageBadInput, EmptyFile) {
  expect_error(write("empty.png", ""), ErrorCode::kImageDecode);
  try {
    Image::from_buffer({});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST_F(ImageBadInput, RandomBytes) {
  std::mt19937 rng(42);
  for (std::size_t size : {1u, 7u, 64u, 4096u, 100000u}) {
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    expect_error(write("random_" + std::to_string(size) + ".jpg", bytes), ErrorCode::kImageDecode);
  }
}

TEST_F(ImageBadInput, TruncatedFiles) {
  // Truncated inside the header and inside the pixel data, for each common format.
  for (const char* name :
       {"scene_640x480.png", "scene_640x480_q92.jpg", "scene_640x480_lossy.webp",
        "scene_640x480_lossless.webp", "anim_2frames_160x120.gif", "scene_180x140.tiff"}) {
    const std::string bytes = read_bytes(kImages + name);
    ASSERT_GT(bytes.size(), 1000u) << name;
    // (Cutting only the end marker is not an error: the pixels are complete, as PIL also reads.)
    for (std::size_t n : {std::size_t{10}, std::size_t{30}, bytes.size() / 3, bytes.size() / 2}) {
      expect_error(write("cut_" + std::to_string(n) + "_" + name, bytes.substr(0, n)),
                   ErrorCode::kImageDecode);
    }
  }
}

TEST_F(ImageBadInput, ExtensionIsIgnoredContentDecides) {
  // A PNG named .jpg decodes (libvips sniffs the content); text named .png is undecodable.
  const Image image =
      Image::from_file(write("really_a_png.jpg", read_bytes(kImages + "small_100x80.png")));
  EXPECT_EQ(image.width(), 100);
  EXPECT_EQ(image.height(), 80);
  expect_error(write("text.png", "this is not an image\n"), ErrorCode::kImageDecode);
}

TEST_F(ImageBadInput, ZeroSizedImages) {
  expect_error(kCorpus + "zero_0x0.png", ErrorCode::kImageDecode);
  try {
    Image::from_rgb(0, 0, {});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("0x0"), std::string::npos) << e.what();
  }
}

TEST_F(ImageBadInput, DecompressionBombsAreRefusedFromTheHeader) {
  // Files of a few dozen bytes declaring 10^10 (PNG) or 4.3 * 10^9 pixels (JPEG, GIF): refused
  // before any pixel is decoded, quickly and without allocating for them.
  const long rss_before = peak_rss_mb();
  expect_error(kCorpus + "bomb_100000x100000.png", ErrorCode::kImageTooLarge,
               "100000x100000 = 10000000000 pixels, above the limit of 100000000");
  expect_error(kCorpus + "bomb_65500x65500.jpg", ErrorCode::kImageTooLarge, "65500x65500");
  expect_error(kCorpus + "bomb_65500x65500.gif", ErrorCode::kImageTooLarge, "65500x65500");
  EXPECT_LT(peak_rss_mb() - rss_before, 200) << "MB of peak RSS added";
}

TEST_F(ImageBadInput, PixelLimitIsConfigurable) {
  const std::string small = kImages + "small_100x80.png";  // 8000 pixels
  expect_error(small, ErrorCode::kImageTooLarge, "above the limit of 7999 pixels",
               DecodeOptions{.max_pixels = 7999});
  EXPECT_EQ(Image::from_file(small, DecodeOptions{.max_pixels = 8000}).width(), 100);
  EXPECT_EQ(Image::from_file(small, DecodeOptions{.max_pixels = 0}).width(), 100);  // no limit
}

TEST_F(ImageBadInput, AnimatedInputsGiveTheFirstFrame) {
  const Image gif = Image::from_file(kImages + "anim_2frames_160x120.gif");
  EXPECT_EQ(gif.width(), 160);
  EXPECT_EQ(gif.height(), 120);  // one frame, not the frames stacked
  const Image webp = Image::from_file(kCorpus + "seed_anim.webp");
  EXPECT_EQ(webp.width(), 16);
  EXPECT_EQ(webp.height(), 12);
}

TEST_F(ImageBadInput, UnsupportedFormats) {
  // Not images at all: a ZIP header, an ELF header, JSON, a PDF-like header with no document.
  expect_error(write("archive.zip", std::string("PK\x03\x04", 4) + std::string(200, '\0')),
               ErrorCode::kImageDecode);
  expect_error(write("program", std::string("\x7f"
                                            "ELF\x02\x01\x01",
                                            7) +
                                    std::string(200, '\0')),
               ErrorCode::kImageDecode);
  expect_error(write("data.json", R"({"not": "an image"})"), ErrorCode::kImageDecode);
  expect_error(write("doc.pdf", "%PDF-1.4\n%%EOF\n"), ErrorCode::kImageDecode);
}

TEST_F(ImageBadInput, UnreadablePaths) {
  expect_error((dir_ / "missing.png").string(), ErrorCode::kImageRead, "no such file");
  expect_error("", ErrorCode::kImageRead);
  expect_error(dir_.string(), ErrorCode::kImageRead, "directory");
  fs::create_symlink(dir_ / "nowhere.png", dir_ / "dangling.png");
  expect_error((dir_ / "dangling.png").string(), ErrorCode::kImageRead);
  const std::string file = write("file.png", read_bytes(kImages + "pixel_1x1.png"));
  expect_error(file + "/inside.png", ErrorCode::kImageRead);  // a path through a file
  if (::geteuid() != 0) {  // root reads regardless of permissions
    const std::string locked = write("locked.png", read_bytes(kImages + "pixel_1x1.png"));
    fs::permissions(locked, fs::perms::none);
    try {
      Image::from_file(locked);
      ADD_FAILURE();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kImageRead) << e.what();
      EXPECT_NE(std::string(e.what()).find(locked), std::string::npos) << e.what();
    }
  }
}

TEST_F(ImageBadInput, FifoDoesNotBlock) {
  // Opening a FIFO for reading waits for a writer: decoding must refuse it instead of hanging.
  // Run in a child process with an alarm, so that a regression fails instead of hanging the suite.
  const std::string fifo = (dir_ / "pipe.png").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::alarm(10);
        try {
          Image::from_file(fifo);
        } catch (const Error& e) {
          std::_Exit(e.code() == ErrorCode::kImageRead &&
                             std::string(e.what()).find(fifo) != std::string::npos
                         ? 0
                         : 1);
        }
        std::_Exit(2);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace zeroshot
