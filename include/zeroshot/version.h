#pragma once

namespace zeroshot {
// The library's version, "MAJOR.MINOR.PATCH".
const char* version() noexcept;
}  // namespace zeroshot
