#include "family/siglip/siglip_config.h"

#include "config/json_reader.h"
#include "zeroshot/error.h"

namespace zeroshot::family::siglip {

using namespace config::json_reader;  // the field readers every family's parser shares

SiglipConfig parse_siglip_config(std::string_view text, const std::string& source) {
  const nlohmann::json root = parse_object(text, source);
  SiglipConfig c;
  const Reader text_r = tower_reader(root, "text", source);
  c.text = parse_text(text_r, c.text, /*min_positions=*/1);
  c.text_projection_size =
      text_r.integer("projection_size", c.text.encoder.hidden_size, 1, kMaxWidth);

  const Reader vision_r = tower_reader(root, "vision", source);
  c.vision = parse_vision(vision_r, c.vision);
  if (!vision_r.boolean("vision_use_head", true)) {
    vision_r.fail("vision_use_head",
                  "is false: without the attention pooling head a SigLIP vision tower has no "
                  "image embedding to classify with");
  }
  if (c.text_projection_size != c.vision.encoder.hidden_size) {
    text_r.fail("projection_size",
                "(" + std::to_string(c.text_projection_size) +
                    ", else hidden_size) must equal vision_config.hidden_size (" +
                    std::to_string(c.vision.encoder.hidden_size) +
                    "): text and image embeddings are compared");
  }
  return c;
}

}  // namespace zeroshot::family::siglip
