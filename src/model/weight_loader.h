// Hugging Face safetensors weights -> the forms the forward passes use, for every model family:
// each tensor is checked (presence, dtype, shape) before any is converted, float32 tensors are
// used in place from the file mapping, and nn.Linear weights become kernels::LinearWeights.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/encoder_config.h"
#include "kernels/gemm.h"
#include "model/weights.h"
#include "tensor/convert.h"
#include "tensor/floats.h"
#include "tensor/view.h"
#include "weights_cache/store.h"
#include "zeroshot/error.h"

namespace zeroshot::model {

using Shape = std::vector<std::int64_t>;

// Reads the tensors of one safetensors file: expect() every tensor first, then fetch them.
class Loader {
 public:
  Loader(const tensor::NamedViews& views, const std::string& source,
         std::shared_ptr<const void> mapping)
      : views_(views), source_(source), mapping_(std::move(mapping)) {}

  // Records an expected tensor; `alternatives` are other accepted shapes (logit_scale: [] or [1]).
  void expect(const std::string& name, Shape shape, std::vector<Shape> alternatives = {}) {
    const auto it = views_.find(name);
    if (it == views_.end()) fail("missing tensor '" + name + "'");
    const tensor::View& view = it->second;
    if (view.dtype == tensor::DType::kOther) {
      fail("tensor '" + name + "' has dtype " + view.dtype_name + ", expected F32, F16 or BF16");
    }
    bool ok = view.shape == shape;
    for (const Shape& alt : alternatives) ok = ok || view.shape == alt;
    if (!ok) {
      fail("tensor '" + name + "' has shape " + tensor::shape_string(view.shape) +
           ", config implies " + tensor::shape_string(shape));
    }
  }

  // As float32 (names were checked by expect() first): in place if the file holds aligned
  // float32 and the mapping is shared with us, else converted into a buffer of our own.
  tensor::Floats floats(const std::string& name) const {
    try {
      const tensor::View& view = views_.at(name);
      const auto count = static_cast<std::size_t>(view.numel());
      if (mapping_ && view.dtype == tensor::DType::kF32 && view.nbytes == count * sizeof(float) &&
          reinterpret_cast<std::uintptr_t>(view.data) % alignof(float) == 0) {
        return tensor::Floats(mapping_, reinterpret_cast<const float*>(view.data), count);
      }
      tensor::Floats converted(tensor::to_f32(view));
      // Each converted tensor is read once: its file pages need not stay next to our copy.
      release(name);
      return converted;
    } catch (const Error& e) {
      fail("tensor '" + name + "': " + e.what());
    }
  }

  // Drops the file pages of a tensor that will not be read again (converted or quantised).
  void release(const std::string& name) const {
    if (mapping_) tensor::release_pages(views_.at(name));
  }

  // The float32 linears loaded from now on keep their packed weights in the prepared-weights
  // cache's file for `tower` (weights_cache/store.h) when the cache is on and oneDNN packs them on
  // this CPU; an empty name stops. One file per tower, so a run that uses one tower writes one;
  // `precision` is the tower's layers' (an int8 tower keeps only its float32 linears there).
  void prepare_tower(const std::string& tower,
                     kernels::GemmPrecision precision = kernels::GemmPrecision::kF32) {
    const char* layers = precision == kernels::GemmPrecision::kInt8 ? "int8 layers" : "f32";
    store_ = tower.empty() ? nullptr : weights_cache::open_store(source_, tower, layers);
  }

  LayerNormWeights layer_norm(const std::string& prefix) const {
    return {floats(prefix + ".weight"), floats(prefix + ".bias")};
  }

  kernels::LinearWeights linear(
      const std::string& prefix, int out, int in, bool bias,
      const kernels::LinearEpilogue& epilogue = {},
      kernels::GemmPrecision precision = kernels::GemmPrecision::kF32) const {
    const tensor::Floats w = floats(prefix + ".weight");
    tensor::Floats b;
    if (bias) b = floats(prefix + ".bias");
    // Weights that stay in the mapping until packed on first use leave the resident set then.
    std::function<void()> on_packed;
    if (mapping_ && w.owner() == mapping_) {
      on_packed = [view = views_.at(prefix + ".weight")] { tensor::release_pages(view); };
    }
    kernels::LinearWeights linear(w.span(), out, in, b.span(), epilogue, precision, w.owner(),
                                  std::move(on_packed), store_for(precision));
    if (!linear.borrowed()) release(prefix + ".weight");
    return linear;
  }

  // Several nn.Linear with the same input as one GEMM, their weights stacked by output rows
  // (q, k and v): "<prefix>.<name>.weight" and ".bias" for each name.
  kernels::LinearWeights stacked_linear(const std::string& prefix,
                                        const std::vector<std::string>& names, int in,
                                        kernels::GemmPrecision precision) const {
    auto parts = std::make_shared<std::vector<tensor::Floats>>();  // keeps the weights alive
    std::vector<std::span<const float>> blocks;
    std::vector<float> bias;
    std::vector<tensor::View> borrowed;  // views whose file pages can go once packed
    for (const std::string& name : names) {
      const std::string weight = prefix + "." + name + ".weight";
      parts->push_back(floats(weight));
      blocks.push_back(parts->back().span());
      if (mapping_ && parts->back().owner() == mapping_) borrowed.push_back(views_.at(weight));
      const tensor::Floats b = floats(prefix + "." + name + ".bias");
      bias.insert(bias.end(), b.data(), b.data() + b.size());
    }
    auto release_borrowed = [borrowed] {
      for (const tensor::View& view : borrowed) tensor::release_pages(view);
    };
    kernels::LinearWeights linear(blocks, in, bias, {}, precision, parts, release_borrowed,
                                  store_for(precision));
    if (!linear.borrowed()) release_borrowed();
    return linear;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kModelInvalid, source_ + ": " + what);
  }

 private:
  std::shared_ptr<kernels::PackedStore> store_for(kernels::GemmPrecision precision) const {
    return precision == kernels::GemmPrecision::kF32 ? store_ : nullptr;
  }

  const tensor::NamedViews& views_;
  const std::string& source_;
  std::shared_ptr<const void> mapping_;
  std::shared_ptr<kernels::PackedStore> store_;  // the current tower's prepared weights, or null
};

// Expects the tensors of `c.num_layers` CLIP-style encoder layers (HF CLIPEncoderLayer,
// SiglipEncoderLayer: q/k/v/out_proj, layer_norm1/2, mlp.fc1/fc2) under
// "<prefix>.encoder.layers.i".
void expect_layers(Loader& loader, const std::string& prefix, const config::EncoderConfig& c);

// Those layers, ready for run_encoder: q/k/v stacked into one GEMM where the weights are packed
// anyway (blocked layouts, int8), every linear quantised for int8.
std::vector<EncoderLayerWeights> load_layers(const Loader& loader, const std::string& prefix,
                                             const config::EncoderConfig& c,
                                             kernels::GemmPrecision precision);

}  // namespace zeroshot::model
