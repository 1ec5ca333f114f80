// What a loaded Model holds (Model::Impl) and the LabelSet's data, shared by the api's files:
// model.cc (the Model methods), embeddings.cc (image and text embeddings), ensemble.cc (label
// embeddings under templates), label_set.cc.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/text_cache.h"
#include "family/family.h"
#include "zeroshot/model.h"

namespace zeroshot {

struct Model::Impl {
  std::string folder;
  family::LoadedModel model;  // shares the safetensors mapping: float32 weights are used in place
  float logit_scale_exp = 1.0f;
  int threads = 0;                             // per call; 0 = the caller's OpenMP setting
  std::shared_ptr<api::TextCache> text_cache;  // shared by copies of the Model; internally locked

  // [images][projection_dim], L2-normalised; the vision tower runs on batches of images.
  std::vector<std::vector<float>> image_embeddings(std::span<const Image> images) const;
  std::vector<float> image_embedding(const Image& image) const {
    return std::move(image_embeddings(std::span<const Image>(&image, 1)).front());
  }
  // [prompts][projection_dim], L2-normalised, from the cache or computed (all misses packed into
  // a few text-tower passes) and cached. `what` ("label") prefixes a tokenizer error with the
  // prompt's position; empty = the tokenizer's message as is.
  std::vector<std::vector<float>> text_embeddings(std::span<const std::string> prompts,
                                                  const std::string& what) const;
  // [labels][projection_dim]: each label's embedding under the templates (the ensemble's mean
  // when more than one); prompts as make_prompts gives them ([templates][labels]).
  std::vector<std::vector<float>> label_embeddings(std::span<const std::string> labels,
                                                   std::span<const std::string> templates,
                                                   std::span<const std::string> prompts) const;
  // The same for the templates of `options` (checked, with the labels).
  std::vector<std::vector<float>> label_embeddings(std::span<const std::string> labels,
                                                   const ClassifyOptions& options) const;
};

struct LabelSet::Data {
  std::vector<std::string> labels;
  std::vector<float> embeddings;  // [labels, dim], L2-normalised rows
  int dim = 0;
  // The model that prepared the set (owner identity of its Impl; copies of a Model share it). A
  // weak pointer: the set does not keep the weights alive, and an expired owner never matches a
  // new model (its control block lives as long as this pointer).
  std::weak_ptr<const Model::Impl> model;
  std::string folder;  // for messages
};

}  // namespace zeroshot
