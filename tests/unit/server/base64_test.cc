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

TEST(Base64, Rfc4648VectorsPaddingOptionalBothAlphabets) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"Zg==", "f"},
      {"Zm8=", "fo"},
      {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"},
      {"Zm9vYmE=", "fooba"},
      {"Zm9vYmFy", "foobar"},  // RFC 4648 section 10
      {"Zg", "f"},
      {"Zm8", "fo"},  // padding is optional
      // 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" in the URL-safe one.
      {"+/+/", "\xfb\xff\xbf"},
      {"-_-_", "\xfb\xff\xbf"}};
  for (const auto& [text, bytes] : cases) EXPECT_EQ(decoded(text), bytes) << text;
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
