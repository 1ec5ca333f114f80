// SigLIP (HF SiglipModel): SentencePiece tokenizer padded to 64, exact-size bicubic resize with no
// crop, the towers of siglip_model.h, independent sigmoid scores with a learned bias.
#pragma once

#include "family/family.h"

namespace zeroshot::family::siglip {

extern const Family kFamily;  // model_type "siglip"

}  // namespace zeroshot::family::siglip
