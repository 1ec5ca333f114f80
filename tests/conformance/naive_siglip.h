// A deliberately plain SigLIP forward pass, written straight from Hugging Face's
// modeling_siglip.py (transformers commit 1c51a62f5861390e994db1464e8a51f6d7fbacbc): scalar
// loops in double, sharing no code with src/family, src/model or src/kernels. The reference for
// the random-weight SigLIP checkpoints (no real weights can be downloaded here).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "conformance/naive_transformer.h"
#include "family/siglip/siglip_config.h"

namespace zeroshot::testing {

class NaiveSiglip : NaiveTransformer {
 public:
  NaiveSiglip(const family::siglip::SiglipConfig& c, const tensor::NamedViews& w)
      : NaiveTransformer(w), c_(c) {}

  // SiglipVisionTransformer: pixels [3, S, S] -> pooler_output [hidden], L2-normalised.
  std::vector<double> image(const std::vector<float>& pixels) const {
    const auto& v = c_.vision;
    const int h = v.encoder.hidden_size, grid = v.image_size / v.patch_size;
    const int n = grid * grid;
    // SiglipVisionEmbeddings: Conv2d(stride = kernel = patch, with bias) + positions.
    const auto pos = get("vision_model.embeddings.position_embedding.weight");
    Matrix x = patch_conv(pixels, v, /*bias=*/true);  // [patches, hidden]
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += pos[i];
    x = encoder(x, n, "vision_model", v.encoder, /*causal=*/false);
    x = layer_norm(x, n, h, "vision_model.post_layernorm", v.encoder.layer_norm_eps);
    return normalize(attention_pooling_head(x, n));
  }

  // SiglipTextTransformer: ids padded to max_position_embeddings, no attention mask ->
  // head(final_layer_norm(x)[-1]), L2-normalised.
  std::vector<double> text(const std::vector<int>& ids) const {
    const auto& t = c_.text;
    const int h = t.encoder.hidden_size, n = static_cast<int>(ids.size());
    Matrix x = text_embeddings(ids, h);
    x = encoder(x, n, "text_model", t.encoder, /*causal=*/false);
    x = layer_norm(x, n, h, "text_model.final_layer_norm", t.encoder.layer_norm_eps);
    const Matrix last(x.end() - h, x.end());
    return normalize(linear(last, 1, h, "text_model.head", true));
  }

  // SiglipModel.forward: logits_per_image = cos * logit_scale.exp() + logit_bias; the pipeline's
  // scores are their sigmoid.
  double logit(const std::vector<double>& image, const std::vector<double>& text) const {
    double cos = 0;
    for (std::size_t i = 0; i < image.size(); ++i) cos += image[i] * text[i];
    return cos * std::exp(get("logit_scale")[0]) + get("logit_bias")[0];
  }
  static double sigmoid(double logit) { return 1 / (1 + std::exp(-logit)); }

 private:
  // SiglipMultiheadAttentionPoolingHead: nn.MultiheadAttention(probe, x, x) (in_proj rows q | k |
  // v, q scaled by head_dim^-0.5), then residual + mlp(layernorm(.)), row 0.
  std::vector<double> attention_pooling_head(const Matrix& x, int n) const {
    const auto& e = c_.vision.encoder;
    const int h = e.hidden_size, heads = e.num_heads, d = h / heads;
    const auto probe = get("vision_model.head.probe");
    const auto in_w = get("vision_model.head.attention.in_proj_weight");  // [3h, h]
    const auto in_b = get("vision_model.head.attention.in_proj_bias");
    auto project = [&](const double* row, int part, int o) {
      double acc = in_b[part * h + o];
      for (int k = 0; k < h; ++k) acc += row[k] * in_w[(part * h + o) * h + k];
      return acc;
    };
    std::vector<double> q(h);
    for (int o = 0; o < h; ++o) q[o] = project(probe.data(), 0, o);
    Matrix k(static_cast<std::size_t>(n) * h), v(static_cast<std::size_t>(n) * h);
    for (int t = 0; t < n; ++t)
      for (int o = 0; o < h; ++o) {
        k[t * h + o] = project(&x[t * h], 1, o);
        v[t * h + o] = project(&x[t * h], 2, o);
      }
    Matrix attn(h, 0.0);
    for (int hd = 0; hd < heads; ++hd) {
      std::vector<double> s(n);
      double mx = -INFINITY, sum = 0;
      for (int t = 0; t < n; ++t) {
        double dot = 0;
        for (int i = 0; i < d; ++i)
          dot += q[hd * d + i] / std::sqrt(double(d)) * k[t * h + hd * d + i];
        mx = std::max(mx, s[t] = dot);
      }
      for (int t = 0; t < n; ++t) sum += (s[t] = std::exp(s[t] - mx));
      for (int t = 0; t < n; ++t)
        for (int i = 0; i < d; ++i) attn[hd * d + i] += s[t] / sum * v[t * h + hd * d + i];
    }
    Matrix out = linear(attn, 1, h, "vision_model.head.attention.out_proj", true);
    Matrix y = layer_norm(out, 1, h, "vision_model.head.layernorm", e.layer_norm_eps);
    Matrix f = linear(y, 1, h, "vision_model.head.mlp.fc1", true);
    for (auto& val : f) val = activation(val, e.activation);
    const Matrix g = linear(f, 1, e.intermediate_size, "vision_model.head.mlp.fc2", true);
    for (int i = 0; i < h; ++i) out[i] += g[i];
    return out;
  }

  family::siglip::SiglipConfig c_;
};

}  // namespace zeroshot::testing
