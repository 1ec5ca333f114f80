// A deliberately plain CLIP forward pass (scalar loops, double accumulation), written straight
// from Hugging Face's modeling_clip.py, sharing no code with src/model or src/kernels. It is
// validated against the OpenAI reference on the tiny fixture (variants_test.cc), then serves as
// the reference for configurations no fixture covers (gelu, patch 16, image 64, F16/BF16...).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/naive_transformer.h"
#include "family/clip/clip_config.h"
#include "tensor/view.h"

namespace zeroshot::testing {

class NaiveClip : NaiveTransformer {
 public:
  NaiveClip(const family::clip::ClipConfig& c, const tensor::NamedViews& w)
      : NaiveTransformer(w), c_(c) {}

  // pixels: [3, S, S] -> [projection_dim], L2-normalised.
  std::vector<double> image(const std::vector<float>& pixels) const {
    const auto& v = c_.vision;
    const int h = v.encoder.hidden_size, grid = v.image_size / v.patch_size;
    const int n = grid * grid + 1;
    const auto cls = get("vision_model.embeddings.class_embedding");
    const auto pos = get("vision_model.embeddings.position_embedding.weight");
    const Matrix patches = patch_conv(pixels, v, /*bias=*/false);  // [grid * grid, hidden]
    Matrix x(static_cast<std::size_t>(n) * h);                     // [tokens, hidden]
    for (int o = 0; o < h; ++o) x[o] = cls[o] + pos[o];
    for (int t = 1; t < n; ++t)
      for (int o = 0; o < h; ++o) x[t * h + o] = patches[(t - 1) * h + o] + pos[t * h + o];
    x = layer_norm(x, n, h, "vision_model.pre_layrnorm", v.encoder.layer_norm_eps);
    x = encoder(x, n, "vision_model", v.encoder, /*causal=*/false);
    Matrix pooled(x.begin(), x.begin() + h);
    pooled = layer_norm(pooled, 1, h, "vision_model.post_layernorm", v.encoder.layer_norm_eps);
    return normalize(project(pooled, "visual_projection.weight"));
  }

  // ids -> [projection_dim], L2-normalised (all positions computed, pooled per HF's rule).
  std::vector<double> text(const std::vector<int>& ids) const {
    const auto& t = c_.text;
    const int h = t.encoder.hidden_size, n = static_cast<int>(ids.size());
    Matrix x = text_embeddings(ids, h);
    x = encoder(x, n, "text_model", t.encoder, /*causal=*/true);
    x = layer_norm(x, n, h, "text_model.final_layer_norm", t.encoder.layer_norm_eps);
    int at = 0;
    if (t.eos_token_id == 2) {
      for (int i = 0; i < n; ++i)
        if (ids[i] > ids[at]) at = i;
    } else {
      while (at < n && ids[at] != t.eos_token_id) ++at;
    }
    Matrix pooled(x.begin() + at * h, x.begin() + (at + 1) * h);
    return normalize(project(pooled, "text_projection.weight"));
  }

 private:
  std::vector<double> project(const Matrix& pooled, const std::string& name) const {
    return linear(pooled, 1, static_cast<int>(pooled.size()), name.substr(0, name.size() - 7),
                  false);
  }

  family::clip::ClipConfig c_;
};

}  // namespace zeroshot::testing
