// libFuzzer target: config.json parsing (family::clip::parse_clip_config) on arbitrary text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "family/clip/clip_config.h"
#include "zeroshot/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto c = zeroshot::family::clip::parse_clip_config(text, "config.json");
    // Whatever is accepted must satisfy the invariants the model relies on.
    for (const auto* e : {&c.text.encoder, &c.vision.encoder}) {
      if (e->hidden_size <= 0 || e->num_heads <= 0 || e->hidden_size % e->num_heads != 0 ||
          e->num_layers <= 0 || e->intermediate_size <= 0 || !(e->layer_norm_eps > 0))
        std::abort();
    }
    if (c.vision.patch_size <= 0 || c.vision.patch_size > c.vision.image_size) std::abort();
    if (c.projection_dim <= 0 || c.text.max_position_embeddings < 2) std::abort();
  } catch (const zeroshot::Error& e) {
    if (e.code() != zeroshot::ErrorCode::kModelInvalid) std::abort();
    if (std::string(e.what()).find("config.json") == std::string::npos) std::abort();
  }
  return 0;
}
