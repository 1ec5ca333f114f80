// The CLIP transformer encoder (HF CLIPEncoder) over several sequences packed row after row:
// every GEMM runs once on all rows of all sequences; attention runs per sequence.
#pragma once

#include <span>
#include <vector>

#include "config/clip_config.h"
#include "model/weights.h"

namespace zeroshot::model {

// x: [rows, hidden], updated in place through every layer:
//   x = x + out_proj(attention(qkv(layer_norm1(x))));  x = x + fc2(act(fc1(layer_norm2(x))))
// Sequence s occupies rows [offsets[s], offsets[s+1]); offsets.back() == rows. `causal` gives
// the text tower's mask (HF's _create_4d_causal_attention_mask).
void run_encoder(const std::vector<EncoderLayerWeights>& layers,
                 const config::EncoderConfig& config, bool causal, std::span<const int> offsets,
                 float* x);

}  // namespace zeroshot::model
