#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/buffer.h"
#include "tensor/convert.h"
#include "zeroshot/error.h"

namespace zeroshot::tensor {
namespace {

TEST(Buffer, AlignedZeroedAndMovable) {
  Buffer b(37);
  ASSERT_EQ(b.size(), 37u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % Buffer::kAlignment, 0u);
  for (float v : b.span()) EXPECT_EQ(v, 0.0f);
  b[3] = 2.0f;
  Buffer moved = std::move(b);
  EXPECT_EQ(moved.size(), 37u);
  EXPECT_EQ(moved[3], 2.0f);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
}

TEST(Convert, HalfKnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(Convert, HalfRoundTripsEveryValue) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = f16_to_f32(bits);
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), bits) << std::hex << h;
  }
}

TEST(Convert, HalfRoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1.0).
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // overflows to inf
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -26)), 0x0000);  // below half the smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);  // above half of it
}

TEST(Convert, BFloat16) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Convert, ViewsOfEveryDtype) {
  const std::vector<float> values{1.5f, -2.25f, 0.0f, 3.0f, 1e-3f, -7.0f};
  std::vector<std::uint16_t> half, bf;
  for (float v : values) {
    half.push_back(f32_to_f16(v));
    bf.push_back(f32_to_bf16(v));
  }
  // Unaligned storage: views into a byte buffer at an odd offset.
  std::vector<std::byte> storage(1 + values.size() * 4);
  auto view_of = [&](DType dtype, const void* src, std::size_t bytes) {
    std::memcpy(storage.data() + 1, src, bytes);
    View v;
    v.dtype = dtype;
    v.shape = {2, 3};
    v.data = storage.data() + 1;
    v.nbytes = bytes;
    return v;
  };
  const Buffer f32 = to_f32(view_of(DType::kF32, values.data(), values.size() * 4));
  const Buffer f16 = to_f32(view_of(DType::kF16, half.data(), half.size() * 2));
  const Buffer b16 = to_f32(view_of(DType::kBF16, bf.data(), bf.size() * 2));
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(f32[i], values[i]);
    EXPECT_NEAR(f16[i], values[i], std::abs(values[i]) * 1e-3f);
    EXPECT_NEAR(b16[i], values[i], std::abs(values[i]) * 8e-3f);
  }
  View other = view_of(DType::kF32, values.data(), 8);
  EXPECT_THROW(to_f32(other), Error);  // 8 bytes for 6 floats
  other.dtype = DType::kOther;
  other.dtype_name = "I64";
  try {
    to_f32(other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid);
    EXPECT_NE(std::string(e.what()).find("I64"), std::string::npos);
  }
}

}  // namespace
}  // namespace zeroshot::tensor
