// The CLIP weights in the form the forward passes use: converted to float32 and, for every
// nn.Linear, packed for the GEMM. Built once from Hugging Face's tensor names (weights.cc is the
// only file that knows those names); immutable afterwards.
#pragma once

#include <string>
#include <vector>

#include "config/clip_config.h"
#include "kernels/gemm.h"
#include "tensor/buffer.h"
#include "tensor/view.h"

namespace zeroshot::model {

struct LayerNormWeights {
  tensor::Buffer gamma;  // [dim]
  tensor::Buffer beta;   // [dim]
};

// One CLIPEncoderLayer. q, k and v projections are fused into one [3*hidden, hidden] GEMM.
struct EncoderLayerWeights {
  LayerNormWeights layer_norm1;
  kernels::LinearWeights qkv;       // [3*hidden, hidden] + [3*hidden]: q rows, then k, then v
  kernels::LinearWeights out_proj;  // [hidden, hidden] + [hidden]; accumulates (residual)
  LayerNormWeights layer_norm2;
  kernels::LinearWeights fc1;  // [intermediate, hidden] + [intermediate]; then the activation
  kernels::LinearWeights fc2;  // [hidden, intermediate] + [hidden]; accumulates (residual)
};

struct TextWeights {
  tensor::Buffer token_embedding;     // [vocab, hidden]
  tensor::Buffer position_embedding;  // [max_positions, hidden]
  std::vector<EncoderLayerWeights> layers;
  LayerNormWeights final_layer_norm;
  kernels::LinearWeights projection;  // [projection_dim, hidden], no bias
};

struct VisionWeights {
  kernels::LinearWeights patch_embedding;  // [hidden, channels*patch*patch], no bias (the conv)
  tensor::Buffer class_embedding;          // [hidden]
  tensor::Buffer position_embedding;       // [patches + 1, hidden]
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
// or BF16". Other tensors in `views` are ignored. int8: the vision encoder layers' linears are
// quantised (kernels::GemmPrecision::kInt8). release_views: the views are a read-only file
// mapping whose pages are dropped from the resident set once read (tensor::release_pages).
ClipWeights load_weights(const config::ClipConfig& config, const tensor::NamedViews& views,
                         const std::string& source, bool int8 = false, bool release_views = false);

kernels::Activation to_kernel_activation(config::Activation activation);

}  // namespace zeroshot::model
