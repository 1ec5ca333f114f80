// The CLIP weights in the form the forward passes use: float32 (used in place from the file
// mapping when the file holds float32, converted otherwise) and, for every nn.Linear, ready for
// the GEMM (kernels::LinearWeights). Built once from Hugging Face's tensor names (weights.cc is the
// only file that knows those names); immutable afterwards.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/clip_config.h"
#include "kernels/gemm.h"
#include "tensor/floats.h"
#include "tensor/view.h"

namespace zeroshot::model {

struct LayerNormWeights {
  tensor::Floats gamma;  // [dim]
  tensor::Floats beta;   // [dim]
};

// One CLIPEncoderLayer. q, k and v write side by side into one [rows, 3*hidden] buffer, the
// layout attention reads: as one stacked GEMM where the weights are copied into a layout of
// their own anyway (blocked for oneDNN's brgemm on AVX-512, int8: one quantisation of the
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

struct TextWeights {
  tensor::Floats token_embedding;     // [vocab, hidden]
  tensor::Floats position_embedding;  // [max_positions, hidden]
  std::vector<EncoderLayerWeights> layers;
  LayerNormWeights final_layer_norm;
  kernels::LinearWeights projection;  // [projection_dim, hidden], no bias
};

struct VisionWeights {
  kernels::LinearWeights patch_embedding;  // [hidden, channels*patch*patch], no bias (the conv)
  tensor::Floats class_embedding;          // [hidden]
  tensor::Floats position_embedding;       // [patches + 1, hidden]
  LayerNormWeights pre_layernorm;
  std::vector<EncoderLayerWeights> layers;
  LayerNormWeights post_layernorm;
  kernels::LinearWeights projection;  // [projection_dim, hidden], no bias
};

struct ClipWeights {
  TextWeights text;
  VisionWeights vision;
  float logit_scale = 0.0f;  // log of the logit multiplier, as stored
};

// Checks every tensor the config implies (presence, dtype F32/F16/BF16, shape) before converting
// any; throws zeroshot::Error(kModelInvalid) with "<source>: missing tensor 'name'", "<source>:
// tensor 'name' has shape [a,b], config implies [c,d]" or "... has dtype I64, expected F32, F16
// or BF16". Other tensors in `views` are ignored. vision_precision kInt8: the vision encoder
// layers' linears are quantised. mapping: if set, the views point into this read-only
// file mapping, which the weights then share: float32 tensors are used in place (no copy), and
// the pages of tensors that are converted or quantised leave the resident set once read
// (tensor::release_pages). Without it every tensor is copied, and `views` may go away after.
ClipWeights load_weights(const config::ClipConfig& config, const tensor::NamedViews& views,
                         const std::string& source,
                         kernels::GemmPrecision vision_precision = kernels::GemmPrecision::kF32,
                         std::shared_ptr<const void> mapping = nullptr);

kernels::Activation to_kernel_activation(config::Activation activation);

}  // namespace zeroshot::model
