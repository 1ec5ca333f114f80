#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "util/cpu_dispatch.h"
#include "zeroshot/error.h"

namespace zeroshot::kernels {

namespace {

// Sums of a row in double over kLanes independent accumulators: one serial chain of dependent
// double adds made layer_norm latency-bound (2% of an image pass); lanes let the compiler
// vectorise without reassociating anything.
constexpr int kLanes = 8;

// sum(x[0..n))
ZEROSHOT_TARGET_CLONES double row_sum(const float* x, int n) {
  double lanes[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(x[i + j]);
  double total = 0.0;
  for (; i < n; ++i) total += static_cast<double>(x[i]);
  for (double lane : lanes) total += lane;
  return total;
}

// sum((x[0..n) - mean)^2)
ZEROSHOT_TARGET_CLONES double row_squared_deviation(const float* x, int n, double mean) {
  double lanes[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[i + j]) - mean;
      lanes[j] += d * d;
    }
  }
  double total = 0.0;
  for (; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - mean;
    total += d * d;
  }
  for (double lane : lanes) total += lane;
  return total;
}

}  // namespace

void layer_norm(const float* x, int rows, int dim, const float* gamma, const float* beta, float eps,
                float* y) {
#pragma omp parallel for if (static_cast <double>(rows) * dim > 3e4)
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * dim;
    float* yr = y + static_cast<std::size_t>(r) * dim;
    // Two passes with double accumulation: closer to the exact value than any float order, so
    // the difference from PyTorch stays at the level of PyTorch's own rounding.
    const double mean = row_sum(xr, dim) / dim;
    const double var = row_squared_deviation(xr, dim, mean) / dim;  // biased, as torch's
    const float inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    const float m = static_cast<float>(mean);
    for (int i = 0; i < dim; ++i) yr[i] = (xr[i] - m) * inv * gamma[i] + beta[i];
  }
}

void softmax_rows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) {
    float* xr = x + static_cast<std::size_t>(r) * cols;
    float mx = xr[0];
    for (int i = 1; i < cols; ++i) mx = std::max(mx, xr[i]);
    float sum = 0.0f;
    for (int i = 0; i < cols; ++i) {
      xr[i] = std::exp(xr[i] - mx);
      sum += xr[i];
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < cols; ++i) xr[i] *= inv;
  }
}

void activate(Activation activation, float* x, std::size_t n) {
  switch (activation) {
    case Activation::kQuickGelu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-1.702f * x[i]));
      break;
    case Activation::kGelu:
      for (std::size_t i = 0; i < n; ++i) {
        x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
      }
      break;
    case Activation::kGeluTanh: {
      constexpr float kSqrt2OverPi = 0.79788456080286536f;
      for (std::size_t i = 0; i < n; ++i) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
      }
      break;
    }
  }
}

namespace {

// One head of one sequence: its rows [0, t) of qkv attend to the shared prefix's keys (if any)
// and to their own. Query rows [q_begin, q_end) are computed; query i goes to out row
// i - q_begin. kt: [head_dim, prefix + t] scratch (K transposed so that the score loop runs over
// contiguous keys and vectorises with every score summed in head-dimension order, as a plain dot
// product would); p: [prefix + t] scratch.
struct HeadTask {
  const float* qkv;     // [t, 3*hidden]: this sequence's rows
  const float* prefix;  // [prefix_rows, 3*hidden] or null
  int prefix_rows;
  int t;
  int q_begin, q_end;
  float* out;  // [q_end - q_begin, hidden]
};

ZEROSHOT_TARGET_CLONES void attend_head(const HeadTask& task, int hidden, int head_dim, int h,
                                        bool causal, float* kt, float* p) {
  const std::size_t stride = 3 * static_cast<std::size_t>(hidden);  // row stride of qkv
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::size_t head = static_cast<std::size_t>(h) * head_dim;
  const int pre = task.prefix_rows;
  const int total = pre + task.t;  // keys: the prefix's, then the sequence's own
  const auto key_row = [&](int j) {
    return j < pre ? task.prefix + j * stride + hidden + head
                   : task.qkv + (j - pre) * stride + hidden + head;
  };
  for (int j = 0; j < total; ++j) {
    const float* kj = key_row(j);
    for (int d = 0; d < head_dim; ++d) kt[static_cast<std::size_t>(d) * total + j] = kj[d];
  }
  for (int i = task.q_begin; i < task.q_end; ++i) {
    // HF: query_states = q_proj(x) * scale, then q @ k^T; masked scores get the most negative
    // float and vanish in the softmax, so a causal row just stops at its own key.
    const float* qi = task.qkv + i * stride + head;
    const int keys = causal ? pre + i + 1 : total;
    for (int j = 0; j < keys; ++j) p[j] = 0.0f;
    for (int d = 0; d < head_dim; ++d) {
      const float q = qi[d] * scale;
      const float* kd = kt + static_cast<std::size_t>(d) * total;
      for (int j = 0; j < keys; ++j) p[j] += q * kd[j];
    }
    float mx = p[0];
    for (int j = 1; j < keys; ++j) mx = std::max(mx, p[j]);
    float sum = 0.0f;
    for (int j = 0; j < keys; ++j) {
      p[j] = std::exp(p[j] - mx);
      sum += p[j];
    }
    const float inv = 1.0f / sum;
    float* oi = task.out + static_cast<std::size_t>(i - task.q_begin) * hidden + head;
    for (int d = 0; d < head_dim; ++d) oi[d] = 0.0f;
    for (int j = 0; j < keys; ++j) {
      const float w = p[j] * inv;
      const float* vj = key_row(j) + hidden;
      for (int d = 0; d < head_dim; ++d) oi[d] += w * vj[d];
    }
  }
}

}  // namespace

void attention(const float* qkv, const AttentionShape& shape, bool causal, float* out) {
  const int offsets[2] = {0, shape.tokens};
  attention_packed(qkv, offsets, shape.hidden, shape.heads, causal, out);
}

namespace {

// Sequences of one length attending to all of each other's rows (a vision tower's images; no
// mask, no shared prefix): the two products of every (sequence, head) as two batched oneDNN
// matmuls on strided views of qkv, and oneDNN's softmax between them. 4-6x the loops' rate
// (attend_head) from 50 tokens up: a tenth of a ViT-B/32 pass, a third of a 196-token one
// (bench/README.md). Scores are (q k^T) * scale where HF scales q first: the same to a rounding.
void attention_by_matmul(const float* qkv, int sequences, int tokens, int hidden, int heads,
                         float* out) {
  using dnnl::memory;
  using Dims = memory::dims;
  const memory::dim s = sequences, t = tokens, h = heads, d = hidden / heads;
  const memory::dim row = 3 * static_cast<memory::dim>(hidden);  // qkv's row stride
  const memory::desc q_md({s, h, t, d}, memory::data_type::f32, Dims{t * row, d, row, 1});
  const memory::desc kt_md({s, h, d, t}, memory::data_type::f32, Dims{t * row, d, 1, row});
  const memory::desc v_md = q_md;
  const memory::desc scores_md({s, h, t, t}, memory::data_type::f32, memory::format_tag::abcd);
  const memory::desc out_md({s, h, t, d}, memory::data_type::f32, Dims{t * hidden, d, hidden, 1});
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::primitive_attr scaled, plain;
  scaled.set_output_scales(0, {1.0f / std::sqrt(static_cast<float>(d))});
  // Scratch belongs to the call: primitives from oneDNN's cache are shared between threads.
  for (auto* attr : {&scaled, &plain}) attr->set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc scores_pd(dnnl::matmul::desc(q_md, kt_md, scores_md), scaled,
                                               engine);
  const dnnl::softmax_forward::primitive_desc softmax_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, scores_md, 3), plain, engine);
  const dnnl::matmul::primitive_desc out_pd(dnnl::matmul::desc(scores_md, v_md, out_md), plain,
                                            engine);
  std::vector<float> scores(static_cast<std::size_t>(s * h * t * t));
  std::size_t scratch_size = 0;
  for (const memory::desc& md :
       {scores_pd.scratchpad_desc(), softmax_pd.scratchpad_desc(), out_pd.scratchpad_desc()})
    scratch_size = std::max(scratch_size, md.get_size());
  const std::unique_ptr<unsigned char[]> scratch(scratch_size > 0 ? new unsigned char[scratch_size]
                                                                  : nullptr);
  auto* base = const_cast<float*>(qkv);
  memory q(q_md, engine, base), kt(kt_md, engine, base + hidden),
      v(v_md, engine, base + 2 * hidden);
  memory p(scores_md, engine, scores.data()), o(out_md, engine, out);
  dnnl::stream stream(engine);
  const auto scratchpad = [&](const memory::desc& md) { return memory(md, engine, scratch.get()); };
  dnnl::matmul(scores_pd).execute(stream,
                                  {{DNNL_ARG_SRC, q},
                                   {DNNL_ARG_WEIGHTS, kt},
                                   {DNNL_ARG_DST, p},
                                   {DNNL_ARG_SCRATCHPAD, scratchpad(scores_pd.scratchpad_desc())}});
  dnnl::softmax_forward(softmax_pd)
      .execute(stream, {{DNNL_ARG_SRC, p},
                        {DNNL_ARG_DST, p},
                        {DNNL_ARG_SCRATCHPAD, scratchpad(softmax_pd.scratchpad_desc())}});
  dnnl::matmul(out_pd).execute(stream,
                               {{DNNL_ARG_SRC, p},
                                {DNNL_ARG_WEIGHTS, v},
                                {DNNL_ARG_DST, o},
                                {DNNL_ARG_SCRATCHPAD, scratchpad(out_pd.scratchpad_desc())}});
  stream.wait();
}

// From this many tokens a sequence's attention goes through attention_by_matmul.
constexpr int kMatmulAttentionTokens = 16;

}  // namespace

void attention_packed(const float* qkv, std::span<const int> offsets, int hidden, int heads,
                      bool causal, float* out, const AttentionOptions& options) {
  const int sequences = static_cast<int>(offsets.size()) - 1;
  if (sequences <= 0) return;
  const int first = offsets[1] - offsets[0];
  bool equal_lengths = true;
  for (int s = 1; s < sequences; ++s) equal_lengths &= offsets[s + 1] - offsets[s] == first;
  if (!causal && options.queries == QueryRows::kAll && options.prefix_qkv == nullptr &&
      equal_lengths && first >= kMatmulAttentionTokens && offsets[0] == 0) {
    try {
      attention_by_matmul(qkv, sequences, first, hidden, heads, out);
      return;
    } catch (const dnnl::error& e) {
      throw Error(ErrorCode::kInternal, std::string("oneDNN attention failed: ") + e.what());
    }
  }
  const int head_dim = hidden / heads;
  const int pre = options.prefix_qkv ? options.prefix_rows : 0;
  int longest = 0;
  double work = 0;
  for (int s = 0; s < sequences; ++s) {
    const int t = offsets[s + 1] - offsets[s];
    longest = std::max(longest, t);
    const int queries = options.queries == QueryRows::kAll ? t : 1;
    work += static_cast<double>(queries) * (pre + t) * hidden;
  }
  const int tasks = sequences * heads;
#pragma omp parallel if (work > 2e5 && tasks > 1)
  {
    std::vector<float> kt(static_cast<std::size_t>(head_dim) *
                          (pre + longest));                         // [head_dim, keys]
    std::vector<float> p(static_cast<std::size_t>(pre + longest));  // [keys]
#pragma omp for schedule(dynamic)
    for (int task = 0; task < tasks; ++task) {
      const int s = task / heads;
      const int h = task % heads;
      const int t = offsets[s + 1] - offsets[s];
      if (t <= 0) continue;
      HeadTask head_task{
          qkv + static_cast<std::size_t>(offsets[s]) * 3 * hidden, options.prefix_qkv, pre, t, 0, t,
          out + static_cast<std::size_t>(offsets[s]) * hidden};
      if (options.queries != QueryRows::kAll) {
        head_task.q_begin = options.queries == QueryRows::kFirst ? 0 : t - 1;
        head_task.q_end = head_task.q_begin + 1;
        head_task.out = out + static_cast<std::size_t>(s) * hidden;
      }
      attend_head(head_task, hidden, head_dim, h, causal, kt.data(), p.data());
    }
  }
}

void im2col_patches(const float* image, int channels, int size, int patch, float* patches) {
  const int grid = size / patch;
  const std::size_t row_len = static_cast<std::size_t>(channels) * patch * patch;
  for (int gy = 0; gy < grid; ++gy) {
    for (int gx = 0; gx < grid; ++gx) {
      float* row = patches + (static_cast<std::size_t>(gy) * grid + gx) * row_len;
      for (int c = 0; c < channels; ++c) {
        const float* plane = image + static_cast<std::size_t>(c) * size * size;
        for (int ky = 0; ky < patch; ++ky) {
          const float* src = plane + static_cast<std::size_t>(gy * patch + ky) * size + gx * patch;
          std::copy(src, src + patch, row);
          row += patch;
        }
      }
    }
  }
}

}  // namespace zeroshot::kernels
