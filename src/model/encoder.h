// The shared transformer encoder (HF CLIPEncoder, SiglipEncoder) over several sequences packed row
// after row: every GEMM runs once on all rows of all sequences; attention runs per sequence.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "config/encoder_config.h"
#include "kernels/ops.h"
#include "model/weights.h"

namespace zeroshot::model {

struct EncoderPass {
  // Sequence s occupies rows [offsets[s], offsets[s+1]) of x; offsets.back() == rows.
  std::span<const int> offsets;
  // The text tower's mask (HF's _create_4d_causal_attention_mask).
  bool causal = false;
  // The one row of each sequence the caller reads (kFirst: the class token, kLast: the end
  // token). Only those rows go through the last layer's attention output, out_proj and MLP: no
  // other row reaches them after the last layer's attention. kAll: every row (SigLIP's pooling
  // head attends to all of them).
  kernels::QueryRows output = kernels::QueryRows::kLast;
  // Every sequence starts with these prefix_rows rows (a shared prompt prefix), computed once by
  // an earlier pass that saved them (save_qkv): [layers, prefix_rows, 3*hidden]. The sequences'
  // own rows are the positions after them.
  const float* prefix_qkv = nullptr;
  int prefix_rows = 0;
  // Out, if set: [layers, rows, 3*hidden], every layer's q/k/v rows (to be a later pass's prefix).
  float* save_qkv = nullptr;
};

// Throws Error(kModelInvalid) naming `source` and the tower ("text", "vision") unless the sizes are
// positive and the heads divide hidden_size.
void check_encoder(const config::EncoderConfig& config, const std::string& source,
                   const std::string& tower);

// x: [rows, hidden] (embedded inputs; scratch afterwards) -> out: [sequences, hidden], HF's
// last_hidden_state at each sequence's output row ([rows, hidden], all of it, for kAll). Each
// layer:
//   x = x + out_proj(attention(qkv(layer_norm1(x))));  x = x + fc2(act(fc1(layer_norm2(x))))
void run_encoder(const std::vector<EncoderLayerWeights>& layers,
                 const config::EncoderConfig& config, const EncoderPass& pass, float* x,
                 float* out);

}  // namespace zeroshot::model
