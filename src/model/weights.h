// The weights of the shared encoder layers (HF CLIPEncoderLayer, SiglipEncoderLayer) in the form
// the forward passes use: float32 (used in place from the file mapping when the file holds float32,
// converted otherwise) and, for every nn.Linear, ready for the GEMM (kernels::LinearWeights).
// Loaded by model/weight_loader.h; each family's towers (family/*/) hold these next to their own
// embeddings and heads. Immutable after load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/encoder_config.h"
#include "kernels/gemm.h"
#include "tensor/floats.h"
#include "tensor/view.h"

namespace zeroshot::model {

struct LayerNormWeights {
  tensor::Floats gamma;  // [dim]
  tensor::Floats beta;   // [dim]
};

// One encoder layer (HF CLIPEncoderLayer). q, k and v write side by side into one [rows, 3*hidden]
// buffer, the layout attention reads: as one stacked GEMM where the weights are copied into a
// layout of their own anyway (blocked for oneDNN's brgemm on AVX-512, int8: one quantisation of the
// activations then serves all three), else as three GEMMs (y_stride 3*hidden) so that the file's
// three matrices are used in place.
struct EncoderLayerWeights {
  LayerNormWeights layer_norm1;
  kernels::LinearWeights qkv;       // stacked: [3*hidden, hidden] + [3*hidden], q rows, k, v
  kernels::LinearWeights q_proj;    // in place: [hidden, hidden] + [hidden] -> columns [0, hidden)
  kernels::LinearWeights k_proj;    // -> columns [hidden, 2*hidden)
  kernels::LinearWeights v_proj;    // -> columns [2*hidden, 3*hidden)
  kernels::LinearWeights out_proj;  // [hidden, hidden] + [hidden]; accumulates (residual)
  LayerNormWeights layer_norm2;
  kernels::LinearWeights fc1;  // [intermediate, hidden] + [intermediate]; then the activation
  kernels::LinearWeights fc2;  // [hidden, intermediate] + [hidden]; accumulates (residual)
};

kernels::Activation to_kernel_activation(config::Activation activation);

}  // namespace zeroshot::model
