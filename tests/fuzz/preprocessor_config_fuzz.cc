// libFuzzer target: preprocessor_config.json parsing (config::parse_preprocessor_config).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/preprocessor_config.h"
#include "zeroshot/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto p = zeroshot::config::parse_preprocessor_config(text, "preprocessor_config.json");
    if (p.shortest_edge <= 0 || p.crop_height <= 0 || p.crop_width <= 0) std::abort();
    if (!std::isfinite(p.rescale_factor)) std::abort();
    for (int i = 0; i < 3; ++i)
      if (!std::isfinite(p.image_mean[i]) || !(p.image_std[i] > 0) ||
          !std::isfinite(p.image_std[i]))
        std::abort();
  } catch (const zeroshot::Error& e) {
    if (e.code() != zeroshot::ErrorCode::kModelInvalid) std::abort();
    if (std::string(e.what()).find("preprocessor_config.json") == std::string::npos) std::abort();
  }
  return 0;
}
