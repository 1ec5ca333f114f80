// Image embeddings (the vision tower over batches of preprocessed images) and text embeddings
// (through the text cache; misses packed into few text-tower passes).
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "api/model_impl.h"
#include "api/scoring.h"
#include "image/preprocess.h"
#include "zeroshot/error.h"

namespace zeroshot {

std::vector<std::vector<float>> Model::Impl::image_embeddings(std::span<const Image> images) const {
  // Batches of 8: enough rows (8 x 50 tokens for ViT-B/32) for the GEMMs to run near their peak
  // rate, while the per-call scratch stays a few MB.
  constexpr std::size_t kBatch = 8;
  const image::ImageSize size = image::output_size(1, 1, model.preprocess);  // same for any input
  const std::size_t image_floats = 3 * static_cast<std::size_t>(size.height) * size.width;
  const auto dim = static_cast<std::size_t>(model.towers->embedding_dim());
  std::vector<std::vector<float>> embeddings;
  embeddings.reserve(images.size());
  std::vector<float> pixels;  // [batch, 3, side, side]
  std::vector<float> out;     // [batch, projection_dim]
  std::vector<image::RgbView> views;
  for (std::size_t first = 0; first < images.size(); first += kBatch) {
    const std::size_t n = std::min(kBatch, images.size() - first);
    views.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const Image& image = images[first + i];
      views.push_back({image.rgb().data(), image.width(), image.height()});
    }
    pixels.resize(n * image_floats);
    image::preprocess_batch(views, model.preprocess, image_floats, pixels.data());
    out.resize(n * dim);
    model.towers->encode_images(pixels.data(), static_cast<int>(n), out.data());
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<float> e(out.begin() + static_cast<std::ptrdiff_t>(i * dim),
                           out.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
      api::l2_normalize(e);
      embeddings.push_back(std::move(e));
    }
  }
  return embeddings;
}

std::vector<std::vector<float>> Model::Impl::text_embeddings(std::span<const std::string> prompts,
                                                             const std::string& what) const {
  // A few hundred prompts per text-tower pass: the GEMMs see thousands of rows, and the scratch
  // stays bounded (256 prompts x ~10 tokens x 2048 floats of MLP ~ 20 MB for ViT-B/32).
  constexpr std::size_t kChunk = 256;
  const auto dim = static_cast<std::size_t>(model.towers->embedding_dim());
  std::vector<std::vector<float>> embeddings(prompts.size());
  // Distinct prompts that are not cached -> the positions that want them.
  std::vector<std::size_t> missing;  // first position of each distinct missing prompt
  std::unordered_map<std::string_view, std::vector<std::size_t>> wanted;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (auto cached = text_cache->get(prompts[i])) {
      embeddings[i] = std::move(*cached);
      continue;
    }
    auto [it, added] = wanted.try_emplace(prompts[i]);
    if (added) missing.push_back(i);
    it->second.push_back(i);
  }
  std::vector<std::vector<int>> ids;
  std::vector<float> out;  // [chunk, projection_dim]
  for (std::size_t first = 0; first < missing.size(); first += kChunk) {
    const std::size_t n = std::min(kChunk, missing.size() - first);
    ids.clear();
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = missing[first + j];
      try {
        ids.push_back(model.tokenizer->model_input(prompts[i]));
      } catch (const Error& e) {
        // The tokenizer's message (invalid UTF-8 at an offset) does not say which label it was.
        if (what.empty() || e.code() != ErrorCode::kInvalidArgument) throw;
        throw Error(e.code(), what + " " + std::to_string(i + 1) + " of " +
                                  std::to_string(prompts.size()) + ": " + e.what());
      }
    }
    out.resize(n * dim);
    model.towers->encode_texts(ids, out.data());
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = missing[first + j];
      std::vector<float> e(out.begin() + static_cast<std::ptrdiff_t>(j * dim),
                           out.begin() + static_cast<std::ptrdiff_t>((j + 1) * dim));
      api::l2_normalize(e);
      text_cache->put(prompts[i], e);
      for (const std::size_t k : wanted.at(prompts[i])) embeddings[k] = e;
    }
  }
  return embeddings;
}

}  // namespace zeroshot
