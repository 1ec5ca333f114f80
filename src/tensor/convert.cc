#include "tensor/convert.h"

#include <bit>
#include <cstring>
#include <string>

#include "zeroshot/error.h"

namespace zeroshot::tensor {

float f16_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {  // inf / NaN
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal: normalise the mantissa
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_f32(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

std::uint16_t f32_to_f16(float f) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t abs = bits & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf / NaN (keep NaN quiet and non-zero)
    return sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u);
  }
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to inf
  if (abs < 0x38800000u) {                        // below the smallest normal half (2^-14)
    // Subnormal half: value = m * 2^-24, m rounded to nearest even.
    const float a = std::bit_cast<float>(abs);
    const float scaled = a * 16777216.0f;  // exact: multiply by 2^24
    std::uint32_t m = static_cast<std::uint32_t>(scaled);
    const float rest = scaled - static_cast<float>(m);
    if (rest > 0.5f || (rest == 0.5f && (m & 1u))) ++m;
    return static_cast<std::uint16_t>(sign | m);
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even.
  std::uint32_t v = abs - (112u << 23);
  v += 0x0fffu + ((v >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (v >> 13));
}

std::uint16_t f32_to_bf16(float f) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

void to_f32(const View& view, float* out) {
  const auto n = static_cast<std::size_t>(view.numel());
  std::size_t element = 0;
  switch (view.dtype) {
    case DType::kF32:
      element = 4;
      break;
    case DType::kF16:
    case DType::kBF16:
      element = 2;
      break;
    case DType::kOther:
      throw Error(ErrorCode::kModelInvalid,
                  "tensor dtype " + view.dtype_name + " cannot be converted to F32");
  }
  if (view.nbytes != n * element) {
    throw Error(ErrorCode::kModelInvalid, "tensor of shape " + shape_string(view.shape) +
                                              " holds " + std::to_string(view.nbytes) +
                                              " bytes, expected " + std::to_string(n * element));
  }
  if (view.dtype == DType::kF32) {
    if (n) std::memcpy(out, view.data, n * 4);
    return;
  }
  const bool half = view.dtype == DType::kF16;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t raw;
    std::memcpy(&raw, view.data + 2 * i, 2);
    out[i] = half ? f16_to_f32(raw) : bf16_to_f32(raw);
  }
}

Buffer to_f32(const View& view) {
  Buffer out(static_cast<std::size_t>(view.numel()));
  to_f32(view, out.data());
  return out;
}

}  // namespace zeroshot::tensor
