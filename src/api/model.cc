// The public Model's methods: load (a model folder, through the family its config.json names:
// family/registry.h), classify against labels or a prepared LabelSet, label, similarity,
// embeddings and what a model is. The pieces they use have their own files: text_cache.cc (the
// text embedding cache), prompts.cc (templates -> prompts), ensemble.cc (label embeddings,
// ensembles), embeddings.cc (image batching, text passes), scoring.cc (cosine, softmax/sigmoid),
// label_set.cc, model_cache.cc (the process-wide cache and convenience functions). Everything a
// Model holds is immutable after load.
#include "zeroshot/model.h"

#include <cmath>
#include <filesystem>

#include "api/hub_progress.h"
#include "api/model_files.h"
#include "api/model_impl.h"
#include "api/prompts.h"
#include "api/scoring.h"
#include "family/registry.h"
#include "hub/hub.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"
#include "zeroshot/error.h"

namespace zeroshot {

using api::TextCache;

namespace {

namespace fs = std::filesystem;

// The public precision as the kernels name it (the layers below api know no public type).
kernels::GemmPrecision to_gemm_precision(Precision precision) {
  switch (precision) {
    case Precision::kFloat32:
      return kernels::GemmPrecision::kF32;
    case Precision::kInt8:
      return kernels::GemmPrecision::kInt8;
  }
  throw Error(ErrorCode::kInvalidArgument,
              "precision: unknown value " + std::to_string(static_cast<int>(precision)));
}

}  // namespace

Model Model::load(const LoadOptions& options) {
  const std::string folder =
      hub::resolve_model_folder({.repo = options.repo,
                                 .revision = options.revision,
                                 .progress = api::to_hub_progress(options.progress),
                                 .layout = api::model_layout()});
  api::require_model_files(folder, options.repo);

  family::LoadedModel model = family::load_model(folder, to_gemm_precision(options.precision));
  const float scale = std::exp(model.logit_scale);
  auto impl = std::make_shared<Impl>(Impl{folder, std::move(model), scale, options.threads,
                                          std::make_shared<TextCache>(options.text_cache_entries)});
  return Model(std::move(impl));
}

namespace {

// The set's data, if `model` prepared it (or a copy of it); else an Error.
const LabelSet::Data& data_of(const std::shared_ptr<const LabelSet::Data>& data,
                              const Model::Impl& model,
                              const std::shared_ptr<const Model::Impl>& impl) {
  if (!data) {
    throw Error(ErrorCode::kInvalidArgument,
                "empty label set (moved from?): prepare one with Model::prepare_labels");
  }
  if (impl.owner_before(data->model) || data->model.owner_before(impl)) {
    throw Error(ErrorCode::kInvalidArgument,
                "the label set was prepared by another model (loaded from " + data->folder +
                    ") than this one (loaded from " + model.folder +
                    "): a LabelSet is scored only by the Model that prepared it or its copies; "
                    "call prepare_labels on this model");
  }
  return *data;
}

void check_embedding_size(std::span<const float> image_embedding, int dim) {
  if (image_embedding.size() != static_cast<std::size_t>(dim)) {
    throw Error(ErrorCode::kInvalidArgument,
                "image embedding has " + std::to_string(image_embedding.size()) +
                    " values; this model's embeddings have " + std::to_string(dim));
  }
}

}  // namespace

LabelSet Model::prepare_labels(std::span<const std::string> labels,
                               const ClassifyOptions& options) const {
  const kernels::ThreadScope threads(impl_->threads);
  const auto texts = impl_->label_embeddings(labels, options);  // [labels][dim]
  auto data = std::make_shared<LabelSet::Data>();
  data->labels.assign(labels.begin(), labels.end());
  data->dim = embedding_dim();
  data->embeddings.reserve(labels.size() * static_cast<std::size_t>(data->dim));
  for (const auto& t : texts) data->embeddings.insert(data->embeddings.end(), t.begin(), t.end());
  data->model = impl_;
  data->folder = impl_->folder;
  return LabelSet(std::move(data));
}

std::vector<LabelScore> Model::classify(const Image& image, std::span<const std::string> labels,
                                        const ClassifyOptions& options) const {
  return std::move(classify_batch(std::span<const Image>(&image, 1), labels, options).front());
}

std::vector<std::vector<LabelScore>> Model::classify_batch(std::span<const Image> images,
                                                           std::span<const std::string> labels,
                                                           const ClassifyOptions& options) const {
  // Labels first: a bad label fails before any image work.
  return classify_batch(images, prepare_labels(labels, options), options.top_k);
}

std::vector<LabelScore> Model::classify_embedding(std::span<const float> image_embedding,
                                                  std::span<const std::string> labels,
                                                  const ClassifyOptions& options) const {
  check_embedding_size(image_embedding, embedding_dim());
  return classify_embedding(image_embedding, prepare_labels(labels, options), options.top_k);
}

std::vector<LabelScore> Model::classify(const Image& image, const LabelSet& labels,
                                        int top_k) const {
  return std::move(classify_batch(std::span<const Image>(&image, 1), labels, top_k).front());
}

std::vector<std::vector<LabelScore>> Model::classify_batch(std::span<const Image> images,
                                                           const LabelSet& labels,
                                                           int top_k) const {
  const LabelSet::Data& set = data_of(labels.data_, *impl_, impl_);
  api::check_top_k(top_k);
  const kernels::ThreadScope threads(impl_->threads);
  const auto image_embeddings = impl_->image_embeddings(images);
  std::vector<std::vector<LabelScore>> results;
  results.reserve(images.size());
  for (const auto& image_embedding : image_embeddings) {
    results.push_back(api::score_labels(image_embedding, set.embeddings, set.labels, impl_->model,
                                        impl_->logit_scale_exp, top_k));
  }
  return results;
}

std::vector<LabelScore> Model::classify_embedding(std::span<const float> image_embedding,
                                                  const LabelSet& labels, int top_k) const {
  const LabelSet::Data& set = data_of(labels.data_, *impl_, impl_);
  api::check_top_k(top_k);
  check_embedding_size(image_embedding, embedding_dim());
  return api::score_labels(image_embedding, set.embeddings, set.labels, impl_->model,
                           impl_->logit_scale_exp, top_k);
}

Model::TextCacheStats Model::text_cache_stats() const { return impl_->text_cache->stats(); }

std::string Model::label(const Image& image, std::span<const std::string> labels,
                         const ClassifyOptions& options) const {
  return classify(image, labels, options).front().label;
}

float Model::similarity(const Image& a, const Image& b) const {
  const kernels::ThreadScope threads(impl_->threads);
  const Image pair[] = {a, b};
  const auto e = impl_->image_embeddings(pair);
  return cosine(e[0], e[1]);
}

std::vector<float> Model::embed_image(const Image& image) const {
  const kernels::ThreadScope threads(impl_->threads);
  return impl_->image_embedding(image);
}

std::vector<float> Model::embed_text(std::string_view text) const {
  const kernels::ThreadScope threads(impl_->threads);
  const std::string prompt(text);
  return std::move(impl_->text_embeddings(std::span<const std::string>(&prompt, 1), "").front());
}

std::vector<std::vector<float>> Model::embed_images(std::span<const Image> images) const {
  const kernels::ThreadScope threads(impl_->threads);
  return impl_->image_embeddings(images);
}

std::vector<std::vector<float>> Model::embed_texts(std::span<const std::string> texts) const {
  const kernels::ThreadScope threads(impl_->threads);
  return impl_->text_embeddings(texts, "text");
}

std::vector<int> Model::tokenize(std::string_view text) const {
  return impl_->model.tokenizer->encode(text);
}

int Model::embedding_dim() const { return impl_->model.towers->embedding_dim(); }
float Model::logit_scale() const { return impl_->logit_scale_exp; }
float Model::logit_bias() const { return impl_->model.logit_bias; }
ScoreKind Model::score_kind() const {
  return impl_->model.scoring == family::Scoring::kSigmoid ? ScoreKind::kSigmoid
                                                           : ScoreKind::kSoftmax;
}
const std::string& Model::folder() const { return impl_->folder; }

DecodeOptions Model::decode_options(DecodeMode mode, std::uint64_t max_pixels) const {
  DecodeOptions options{.max_pixels = max_pixels, .mode = mode};
  const image::PreprocessParams& p = impl_->model.preprocess;
  if (!p.do_resize) return options;  // the crop takes pixels as decoded: nothing may be reduced
  if (p.resize_width > 0 && p.resize_height > 0) {
    options.target.width = p.resize_width;
    options.target.height = p.resize_height;
  } else {
    options.target.shortest_edge = p.shortest_edge;
  }
  return options;
}

}  // namespace zeroshot
