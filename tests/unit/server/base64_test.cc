// server/base64: RFC 4648's test vectors (section 10), both alphabets, data URLs, bad input.
#include "base64.h"

#include <gtest/gtest.h>

namespace zeroshot::server {
namespace {

std::string decoded(std::string_view text) {
  std::string why;
  auto out = decode_base64(text, why);
  EXPECT_TRUE(out.has_value()) << text << ": " << why;
  return out.value_or("");
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(decoded(""), "");
  EXPECT_EQ(decoded("Zg=="), "f");
  EXPECT_EQ(decoded("Zm8="), "fo");
  EXPECT_EQ(decoded("Zm9v"), "foo");
  EXPECT_EQ(decoded("Zm9vYg=="), "foob");
  EXPECT_EQ(decoded("Zm9vYmE="), "fooba");
  EXPECT_EQ(decoded("Zm9vYmFy"), "foobar");
}

TEST(Base64, PaddingOptionalAndBothAlphabets) {
  EXPECT_EQ(decoded("Zg"), "f");
  EXPECT_EQ(decoded("Zm8"), "fo");
  // 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" in the URL-safe one.
  EXPECT_EQ(decoded("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(decoded("-_-_"), "\xfb\xff\xbf");
}

TEST(Base64, BadInputIsNamed) {
  std::string why;
  EXPECT_FALSE(decode_base64("Zm9v!", why));
  EXPECT_NE(why.find("offset 4"), std::string::npos) << why;
  EXPECT_FALSE(decode_base64("Zm9vY", why));     // one character past a group: no whole byte
  EXPECT_FALSE(decode_base64("Zg==Zg==", why));  // data after padding
  EXPECT_FALSE(decode_base64("Zg===", why));
}

TEST(Base64, DataUrls) {
  std::string why;
  EXPECT_EQ(decode_image_text("data:image/png;base64,Zm9v", why).value_or(""), "foo");
  EXPECT_FALSE(decode_image_text("data:image/png,Zm9v", why)) << "not base64-encoded";
  EXPECT_FALSE(decode_image_text("data:image/png;base64", why)) << "no comma";
  EXPECT_FALSE(decode_image_text("", why));
  EXPECT_FALSE(decode_image_text("data:image/png;base64,", why));
}

}  // namespace
}  // namespace zeroshot::server
