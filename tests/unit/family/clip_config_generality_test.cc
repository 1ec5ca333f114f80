// The towers on a configuration unlike the fixture (other head counts, exact and tanh GELU, a
// patch grid that leaves a remainder, a custom end token, batches), against a naive
// double-precision forward pass written line by line from HF's modeling_clip.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "family/clip/clip_model.h"

namespace zeroshot::family::clip {
namespace {

using Matrix = std::vector<double>;  // row-major

struct Weights {
  std::map<std::string, std::vector<float>> values;
  std::map<std::string, std::vector<std::int64_t>> shapes;
  std::mt19937 rng{42};

  void add(const std::string& name, std::vector<std::int64_t> shape, float mean, float stddev) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::normal_distribution<float> dist(mean, stddev);
    std::vector<float>& v = values[name];
    v.resize(static_cast<std::size_t>(n));
    for (float& x : v) x = dist(rng);
    shapes[name] = std::move(shape);
  }
  tensor::NamedViews views() const {
    tensor::NamedViews out;
    for (const auto& [name, v] : values) {
      tensor::View view;
      view.dtype = tensor::DType::kF32;
      view.dtype_name = "F32";
      view.shape = shapes.at(name);
      view.data = reinterpret_cast<const std::byte*>(v.data());
      view.nbytes = v.size() * 4;
      out[name] = view;
    }
    return out;
  }
  const std::vector<float>& operator[](const std::string& name) const { return values.at(name); }
};

void add_encoder(Weights& w, const std::string& prefix, const config::EncoderConfig& e) {
  const std::int64_t h = e.hidden_size, ff = e.intermediate_size;
  const float s = 1.0f / std::sqrt(static_cast<float>(h));  // large enough to matter
  for (int i = 0; i < e.num_layers; ++i) {
    const std::string p = prefix + ".encoder.layers." + std::to_string(i) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
      w.add(p + "self_attn." + proj + ".weight", {h, h}, 0, 2 * s);
      w.add(p + "self_attn." + proj + ".bias", {h}, 0, 0.1f);
    }
    for (const char* ln : {"layer_norm1", "layer_norm2"}) {
      w.add(p + ln + ".weight", {h}, 1, 0.2f);
      w.add(p + ln + ".bias", {h}, 0, 0.2f);
    }
    w.add(p + "mlp.fc1.weight", {ff, h}, 0, s);
    w.add(p + "mlp.fc1.bias", {ff}, 0, 0.1f);
    w.add(p + "mlp.fc2.weight", {h, ff}, 0, 1.0f / std::sqrt(static_cast<float>(ff)));
    w.add(p + "mlp.fc2.bias", {h}, 0, 0.1f);
  }
}

// ---- naive reference (double) ----
Matrix linear(const Matrix& x, int rows, const std::vector<float>& w, int out, int in,
              const std::vector<float>* b) {
  Matrix y(static_cast<std::size_t>(rows) * out);
  for (int r = 0; r < rows; ++r) {
    for (int o = 0; o < out; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int i = 0; i < in; ++i) s += x[r * in + i] * w[o * in + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

Matrix layer_norm(const Matrix& x, int rows, int dim, const std::vector<float>& g,
                  const std::vector<float>& b, double eps) {
  Matrix y(x.size());
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int i = 0; i < dim; ++i) mean += x[r * dim + i] / dim;
    for (int i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / dim;
    for (int i = 0; i < dim; ++i) {
      y[r * dim + i] = (x[r * dim + i] - mean) / std::sqrt(var + eps) * g[i] + b[i];
    }
  }
  return y;
}

double act(config::Activation a, double x) {
  switch (a) {
    case config::Activation::kQuickGelu:
      return x / (1 + std::exp(-1.702 * x));
    case config::Activation::kGelu:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case config::Activation::kGeluTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  }
  return 0;
}

void encoder(const Weights& w, const std::string& prefix, const config::EncoderConfig& e,
             bool causal, Matrix& x, int t) {
  const int h = e.hidden_size, heads = e.num_heads, d = h / heads;
  for (int l = 0; l < e.num_layers; ++l) {
    const std::string p = prefix + ".encoder.layers." + std::to_string(l) + ".";
    auto W = [&](const std::string& n) { return w[p + n]; };
    Matrix n1 =
        layer_norm(x, t, h, W("layer_norm1.weight"), W("layer_norm1.bias"), e.layer_norm_eps);
    const auto qb = W("self_attn.q_proj.bias"), kb = W("self_attn.k_proj.bias"),
               vb = W("self_attn.v_proj.bias"), ob = W("self_attn.out_proj.bias");
    Matrix q = linear(n1, t, W("self_attn.q_proj.weight"), h, h, &qb);
    for (double& v : q) v *= 1.0 / std::sqrt(static_cast<double>(d));
    const Matrix k = linear(n1, t, W("self_attn.k_proj.weight"), h, h, &kb);
    const Matrix v = linear(n1, t, W("self_attn.v_proj.weight"), h, h, &vb);
    Matrix attn(static_cast<std::size_t>(t) * h, 0.0);
    for (int hd = 0; hd < heads; ++hd) {
      for (int i = 0; i < t; ++i) {
        std::vector<double> s(t);
        double mx = -1e300, sum = 0;
        for (int j = 0; j < t; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += q[i * h + hd * d + c] * k[j * h + hd * d + c];
          s[j] = (causal && j > i) ? -1e300 : dot;
          mx = std::max(mx, s[j]);
        }
        for (int j = 0; j < t; ++j) sum += (s[j] = (causal && j > i) ? 0 : std::exp(s[j] - mx));
        for (int j = 0; j < t; ++j) {
          for (int c = 0; c < d; ++c)
            attn[i * h + hd * d + c] += s[j] / sum * v[j * h + hd * d + c];
        }
      }
    }
    const Matrix o = linear(attn, t, W("self_attn.out_proj.weight"), h, h, &ob);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    const Matrix n2 =
        layer_norm(x, t, h, W("layer_norm2.weight"), W("layer_norm2.bias"), e.layer_norm_eps);
    const auto b1 = W("mlp.fc1.bias"), b2 = W("mlp.fc2.bias");
    Matrix m = linear(n2, t, W("mlp.fc1.weight"), e.intermediate_size, h, &b1);
    for (double& val : m) val = act(e.activation, val);
    const Matrix m2 = linear(m, t, W("mlp.fc2.weight"), h, e.intermediate_size, &b2);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += m2[i];
  }
}

std::vector<double> reference_text(const Weights& w, const ClipConfig& c,
                                   const std::vector<int>& ids, int pool) {
  const int h = c.text.encoder.hidden_size, t = static_cast<int>(ids.size());
  Matrix x(static_cast<std::size_t>(t) * h);
  for (int i = 0; i < t; ++i) {
    for (int j = 0; j < h; ++j) {
      x[i * h + j] =
          static_cast<double>(w["text_model.embeddings.token_embedding.weight"][ids[i] * h + j]) +
          w["text_model.embeddings.position_embedding.weight"][i * h + j];
    }
  }
  encoder(w, "text_model", c.text.encoder, true, x, t);
  x = layer_norm(x, t, h, w["text_model.final_layer_norm.weight"],
                 w["text_model.final_layer_norm.bias"], c.text.encoder.layer_norm_eps);
  const Matrix pooled(x.begin() + pool * h, x.begin() + (pool + 1) * h);
  return linear(pooled, 1, w["text_projection.weight"], c.projection_dim, h, nullptr);
}

std::vector<double> reference_image(const Weights& w, const ClipConfig& c, const float* pixels) {
  const auto& v = c.vision;
  const int h = v.encoder.hidden_size, p = v.patch_size, s = v.image_size, grid = s / p;
  const int t = grid * grid + 1;
  const auto& conv = w["vision_model.embeddings.patch_embedding.weight"];
  const auto& pos = w["vision_model.embeddings.position_embedding.weight"];
  Matrix x(static_cast<std::size_t>(t) * h);
  for (int j = 0; j < h; ++j)
    x[j] = static_cast<double>(w["vision_model.embeddings.class_embedding"][j]) + pos[j];
  for (int gy = 0; gy < grid; ++gy) {
    for (int gx = 0; gx < grid; ++gx) {
      const int tok = 1 + gy * grid + gx;
      for (int o = 0; o < h; ++o) {
        double acc = 0;
        for (int ch = 0; ch < v.num_channels; ++ch) {
          for (int ky = 0; ky < p; ++ky) {
            for (int kx = 0; kx < p; ++kx) {
              acc += static_cast<double>(conv[((o * v.num_channels + ch) * p + ky) * p + kx]) *
                     pixels[(ch * s + gy * p + ky) * s + gx * p + kx];
            }
          }
        }
        x[tok * h + o] = acc + pos[tok * h + o];
      }
    }
  }
  x = layer_norm(x, t, h, w["vision_model.pre_layrnorm.weight"],
                 w["vision_model.pre_layrnorm.bias"], v.encoder.layer_norm_eps);
  encoder(w, "vision_model", v.encoder, false, x, t);
  const Matrix cls(x.begin(), x.begin() + h);
  const Matrix pooled = layer_norm(cls, 1, h, w["vision_model.post_layernorm.weight"],
                                   w["vision_model.post_layernorm.bias"], v.encoder.layer_norm_eps);
  return linear(pooled, 1, w["visual_projection.weight"], c.projection_dim, h, nullptr);
}

void expect_close(const float* got, const std::vector<double>& want, const std::string& what) {
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 2e-5 * std::max(scale, 1.0)) << what << " [" << i << "]";
  }
}

TEST(ConfigGenerality, MatchesNaiveForwardPass) {
  ClipConfig c;
  c.projection_dim = 12;
  c.text.encoder = {24, 40, 2, 3, 1e-5f, config::Activation::kGelu};
  c.text.vocab_size = 100;
  c.text.max_position_embeddings = 20;
  c.text.eos_token_id = 7;  // neither 2 nor the largest id: the first match pools
  c.vision.encoder = {40, 56, 2, 5, 1e-6f, config::Activation::kGeluTanh};
  c.vision.image_size = 40;  // 16-pixel patches: a 2x2 grid and 8 ignored pixels
  c.vision.patch_size = 16;
  c.vision.num_channels = 3;
  const int th = 24, vh = 40, grid = 2;

  Weights w;
  w.add("text_model.embeddings.token_embedding.weight", {100, th}, 0, 1);
  w.add("text_model.embeddings.position_embedding.weight", {20, th}, 0, 0.5f);
  add_encoder(w, "text_model", c.text.encoder);
  w.add("text_model.final_layer_norm.weight", {th}, 1, 0.2f);
  w.add("text_model.final_layer_norm.bias", {th}, 0, 0.2f);
  w.add("text_projection.weight", {12, th}, 0, 0.3f);
  w.add("vision_model.embeddings.class_embedding", {vh}, 0, 1);
  w.add("vision_model.embeddings.patch_embedding.weight", {vh, 3, 16, 16}, 0, 0.05f);
  w.add("vision_model.embeddings.position_embedding.weight", {grid * grid + 1, vh}, 0, 0.5f);
  w.add("vision_model.pre_layrnorm.weight", {vh}, 1, 0.2f);
  w.add("vision_model.pre_layrnorm.bias", {vh}, 0, 0.2f);
  add_encoder(w, "vision_model", c.vision.encoder);
  w.add("vision_model.post_layernorm.weight", {vh}, 1, 0.2f);
  w.add("vision_model.post_layernorm.bias", {vh}, 0, 0.2f);
  w.add("visual_projection.weight", {12, vh}, 0, 0.3f);
  w.add("logit_scale", {1}, 2.0f, 0.0f);

  const ClipModel model(c, w.views(), "model.safetensors");
  EXPECT_EQ(model.logit_scale(), 2.0f);

  // Text: prompts of several lengths in one batch; tokens after the end token are not pooled.
  const std::vector<std::vector<int>> prompts{
      {1, 50, 7}, {1, 7}, {1, 99, 3, 12, 44, 98, 0, 7, 55, 7}, {1, 5, 6, 8, 9, 10, 11, 7}};
  const std::vector<int> pools{2, 1, 7, 7};
  std::vector<float> batch(prompts.size() * 12);
  model.encode_texts(prompts, batch.data());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(model.pooled_position(prompts[i]), pools[i]);
    const std::vector<int> used(prompts[i].begin(), prompts[i].begin() + pools[i] + 1);
    expect_close(batch.data() + i * 12, reference_text(w, c, used, pools[i]),
                 "prompt " + std::to_string(i));
  }

  // Images: a batch of three.
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> pixels(3 * 3 * 40 * 40);
  for (float& p : pixels) p = dist(rng);
  std::vector<float> out(3 * 12);
  model.encode_images(pixels.data(), 3, out.data());
  for (int b = 0; b < 3; ++b) {
    expect_close(out.data() + b * 12, reference_image(w, c, pixels.data() + b * 3 * 40 * 40),
                 "image " + std::to_string(b));
  }
}

}  // namespace
}  // namespace zeroshot::family::clip
