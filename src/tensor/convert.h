// Element conversions between the weight dtypes of safetensors files and float32.
#pragma once

#include <cstdint>

#include "tensor/buffer.h"
#include "tensor/view.h"

namespace zeroshot::tensor {

// IEEE half -> float (exact: every half is representable), including subnormals, inf and NaN.
float f16_to_f32(std::uint16_t h) noexcept;
// bfloat16 -> float (exact: the high 16 bits of a float).
float bf16_to_f32(std::uint16_t b) noexcept;
// float -> half / bfloat16 with round-to-nearest-even (as torch's .half() / .bfloat16()).
std::uint16_t f32_to_f16(float f) noexcept;
std::uint16_t f32_to_bf16(float f) noexcept;

// Converts a F32, F16 or BF16 view (data possibly unaligned) into `numel()` floats at `out`.
// Throws zeroshot::Error(kModelInvalid) for any other dtype or a byte size that disagrees with
// the shape.
void to_f32(const View& view, float* out);
// Same, into a new buffer.
Buffer to_f32(const View& view);

}  // namespace zeroshot::tensor
