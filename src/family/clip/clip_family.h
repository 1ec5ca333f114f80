// CLIP (HF CLIPModel): the byte-level BPE tokenizer, shortest-edge resize + centre crop, the
// towers of model/clip_model.h, softmax scores.
#pragma once

#include "family/family.h"

namespace zeroshot::family::clip {

extern const Family kFamily;  // model_type "clip"

}  // namespace zeroshot::family::clip
