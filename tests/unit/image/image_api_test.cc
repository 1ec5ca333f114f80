// The public zeroshot::Image: factories, copies sharing pixels, errors.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "zeroshot/error.h"
#include "zeroshot/image.h"

namespace zeroshot {
namespace {

const std::string kFixtures = ZEROSHOT_FIXTURES;

TEST(PublicImage, FromRgbCopiesThePixels) {
  std::vector<std::uint8_t> rgb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  const Image image = Image::from_rgb(3, 2, rgb);
  rgb[0] = 99;  // the image owns a copy
  EXPECT_EQ(image.width(), 3);
  EXPECT_EQ(image.height(), 2);
  ASSERT_EQ(image.rgb().size(), 18u);
  EXPECT_EQ(image.rgb()[0], 1);
  EXPECT_EQ(image.rgb()[17], 18);
  const Image copy = image;  // cheap: shares the pixels
  EXPECT_EQ(copy.rgb().data(), image.rgb().data());
}

TEST(PublicImage, FromRgbChecksTheSize) {
  const std::vector<std::uint8_t> rgb(17);
  try {
    Image::from_rgb(3, 2, rgb);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_THROW(Image::from_rgb(0, 2, {}), Error);
}

TEST(PublicImage, FromFileAndBuffer) {
  const Image image = Image::from_file(kFixtures + "/images/scene_180x140.tiff");
  EXPECT_EQ(image.width(), 180);
  EXPECT_EQ(image.height(), 140);
  try {
    Image::from_file(kFixtures + "/images/scene_640x480.png", DecodeOptions{.max_pixels = 1000});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageTooLarge);
  }
  const std::vector<std::byte> junk(100, std::byte{7});
  try {
    Image::from_buffer(junk);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
  }
}

}  // namespace
}  // namespace zeroshot
