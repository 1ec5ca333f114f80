// CLIP (HF CLIPModel): the byte-level BPE tokenizer (clip_tokenizer.h: tokenizer.json, or
// vocab.json + merges.txt), shortest-edge resize + centre crop, the towers of clip_model.h, softmax
// scores.
#pragma once

#include "family/family.h"

namespace zeroshot::family::clip {

extern const Family kFamily;  // model_type "clip"

}  // namespace zeroshot::family::clip
