#include "family/clip/clip_config.h"

#include "config/json_reader.h"
#include "zeroshot/error.h"

namespace zeroshot::family::clip {

using namespace config::json_reader;  // the field readers every family's parser shares

ClipConfig parse_clip_config(std::string_view text, const std::string& source) {
  const nlohmann::json root = parse_object(text, source);
  Reader top(root, source, "");
  const std::string model_type = top.string("model_type", "clip");
  if (model_type != "clip") {
    top.fail("model_type", "is \"" + model_type + "\"; only CLIP models (\"clip\") are supported");
  }
  ClipConfig c;
  c.projection_dim = top.integer("projection_dim", c.projection_dim, 1, kMaxWidth);

  const Reader text_r = tower_reader(root, "text", source);
  c.text = parse_text(text_r, c.text, /*min_positions=*/2);
  c.text.eos_token_id = text_r.integer("eos_token_id", c.text.eos_token_id, 0, kMaxVocab);

  c.vision = parse_vision(tower_reader(root, "vision", source), c.vision);
  return c;
}

}  // namespace zeroshot::family::clip
