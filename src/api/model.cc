// The public Model: loads a model folder (config, tokenizer, weights) once, through the family its
// config.json names (family/registry.h), and answers classify, label, similarity and embedding
// calls. Everything held here is immutable after load.
#include "zeroshot/model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "api/hub_progress.h"
#include "api/model_files.h"
#include "family/registry.h"
#include "hub/hub.h"
#include "image/preprocess.h"
#include "kernels/gemm.h"
#include "kernels/threads.h"
#include "zeroshot/error.h"

namespace zeroshot {

namespace {

// A bounded LRU map prompt -> L2-normalised text embedding, one per loaded model (so the key is
// (model, prompt)). Thread-safe; lookups copy the embedding out (2 KB for ViT-B/32), so no
// reference outlives the lock.
class TextCache {
 public:
  explicit TextCache(std::size_t capacity) : capacity_(capacity) {}

  std::optional<std::vector<float>> get(const std::string& prompt) {
    if (capacity_ == 0) return std::nullopt;
    std::lock_guard lock(mutex_);
    const auto it = index_.find(prompt);
    if (it == index_.end()) {
      ++misses_;
      return std::nullopt;
    }
    ++hits_;
    entries_.splice(entries_.begin(), entries_, it->second);  // now the most recent
    return it->second->second;
  }

  Model::TextCacheStats stats() {
    std::lock_guard lock(mutex_);
    return {hits_, misses_, entries_.size()};
  }

  void put(const std::string& prompt, const std::vector<float>& embedding) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(prompt); it != index_.end()) {
      entries_.splice(entries_.begin(), entries_, it->second);
      return;
    }
    entries_.emplace_front(prompt, embedding);
    index_.emplace(entries_.front().first, entries_.begin());
    if (entries_.size() > capacity_) {
      index_.erase(entries_.back().first);
      entries_.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::vector<float>>;
  std::mutex mutex_;
  std::size_t capacity_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys in entries_
};

}  // namespace

struct Model::Impl {
  std::string folder;
  family::LoadedModel model;  // shares the safetensors mapping: float32 weights are used in place
  float logit_scale_exp = 1.0f;
  int threads = 0;                        // per call; 0 = the caller's OpenMP setting
  std::shared_ptr<TextCache> text_cache;  // shared by copies of the Model; internally locked

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

void l2_normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  const float inv = sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
  for (float& x : v) x *= inv;
}

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

// The templates a call uses: the ensemble, else the one template; empty = labels verbatim.
std::vector<std::string> call_templates(const ClassifyOptions& options) {
  if (!options.templates.empty()) return options.templates;
  if (options.prompt_template) return {*options.prompt_template};
  return {};
}

// The prompts for the labels, template-major ([templates][labels]: the prompts of one template
// are contiguous, so that they share its prefix in the text tower): every "{label}" in a template
// replaced by the label; other text, including stray braces, is kept verbatim (docs/ERRORS.md).
// No template = the labels verbatim. An empty label is a valid prompt, as in Hugging Face
// (verbatim it tokenises to <|startoftext|><|endoftext|>).
std::vector<std::string> make_prompts(std::span<const std::string> labels,
                                      std::span<const std::string> templates,
                                      const ClassifyOptions& options) {
  static constexpr std::string_view kField = "{label}";
  if (labels.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "no labels given: classify needs at least one label");
  }
  if (options.top_k < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "top_k is " + std::to_string(options.top_k) +
                    ": it must be at least 1 (the best K labels), or 0 for every label");
  }
  for (std::size_t t = 0; t < templates.size(); ++t) {
    if (templates[t].find(kField) == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument,
                  (templates.size() > 1 ? "template " + std::to_string(t + 1) + " of " +
                                              std::to_string(templates.size()) + ", "
                                        : std::string("template ")) +
                      "\"" + templates[t] +
                      "\" has no {label} placeholder (e.g. \"a photo of {label}\"); pass no "
                      "template to use labels verbatim");
    }
  }
  if (templates.empty()) return {labels.begin(), labels.end()};
  std::vector<std::string> prompts;
  prompts.reserve(templates.size() * labels.size());
  for (const std::string& tmpl : templates) {
    for (const std::string& label : labels) {
      std::string prompt;
      std::string_view t = tmpl;
      for (std::size_t pos; (pos = t.find(kField)) != std::string_view::npos;
           t.remove_prefix(pos + kField.size())) {
        prompt.append(t.substr(0, pos)).append(label);
      }
      prompts.push_back(prompt.append(t));
    }
  }
  return prompts;
}

}  // namespace

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
      l2_normalize(e);
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
      l2_normalize(e);
      text_cache->put(prompts[i], e);
      for (const std::size_t k : wanted.at(prompts[i])) embeddings[k] = e;
    }
  }
  return embeddings;
}

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

// logits = exp(logit_scale) * cosine + logit_bias; scores: a softmax over all the labels (max
// subtracted; CLIP) or each logit's sigmoid (SigLIP, HF's zero-shot pipeline: independent per
// label). Sorted by descending score, stable for ties; the best top_k kept (0 = all).
std::vector<LabelScore> score_labels(const std::vector<float>& image_embedding,
                                     const std::vector<std::vector<float>>& text_embeddings,
                                     std::span<const std::string> labels,
                                     const family::LoadedModel& model, float logit_scale_exp,
                                     int top_k) {
  std::vector<float> cosines(labels.size());  // [labels]
  std::vector<float> logits(labels.size());   // [labels]
  for (std::size_t i = 0; i < labels.size(); ++i) {
    cosines[i] = dot(image_embedding, text_embeddings[i]);
    logits[i] = logit_scale_exp * cosines[i] + model.logit_bias;
  }
  std::vector<float> probabilities(labels.size());  // [labels]
  if (model.scoring == family::Scoring::kSigmoid) {
    for (std::size_t i = 0; i < labels.size(); ++i)
      probabilities[i] =
          static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logits[i]))));
  } else {
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    std::vector<double> exps(labels.size());  // [labels]
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i)
      sum += (exps[i] = std::exp(logits[i] - max_logit));
    for (std::size_t i = 0; i < labels.size(); ++i)
      probabilities[i] = static_cast<float>(static_cast<float>(exps[i]) / sum);
  }
  std::vector<LabelScore> scores;
  scores.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    scores.push_back({labels[i], probabilities[i], logits[i], std::clamp(cosines[i], -1.0f, 1.0f)});
  std::stable_sort(scores.begin(), scores.end(),
                   [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
  if (top_k > 0 && static_cast<std::size_t>(top_k) < scores.size())
    scores.resize(static_cast<std::size_t>(top_k));
  return scores;
}

// A label's ensemble embedding: the L2-normalised mean of its templates' L2-normalised prompt
// embeddings, as OpenAI's zeroshot_classifier (Prompt_Engineering_for_ImageNet.ipynb). Groups
// are added one template at a time, so only one template's embeddings are held at once.
class EnsembleSum {
 public:
  explicit EnsembleSum(std::size_t labels) : sums_(labels) {}
  // group: [labels][projection_dim], one template's prompts.
  void add(const std::vector<std::vector<float>>& group) {
    for (std::size_t l = 0; l < sums_.size(); ++l) {
      sums_[l].resize(group[l].size());
      for (std::size_t k = 0; k < group[l].size(); ++k) sums_[l][k] += group[l][k];
    }
    ++groups_;
  }
  // [labels][projection_dim]
  std::vector<std::vector<float>> embeddings() const {
    std::vector<std::vector<float>> out(sums_.size());
    for (std::size_t l = 0; l < sums_.size(); ++l) {
      out[l].resize(sums_[l].size());
      for (std::size_t k = 0; k < sums_[l].size(); ++k)
        out[l][k] = static_cast<float>(sums_[l][k] / static_cast<double>(groups_));
      l2_normalize(out[l]);
    }
    return out;
  }

 private:
  std::vector<std::vector<double>> sums_;  // [labels][projection_dim]
  std::size_t groups_ = 0;
};

}  // namespace

std::vector<LabelScore> Model::classify(const Image& image, std::span<const std::string> labels,
                                        const ClassifyOptions& options) const {
  return std::move(classify_batch(std::span<const Image>(&image, 1), labels, options).front());
}

std::vector<std::vector<float>> Model::Impl::label_embeddings(
    std::span<const std::string> labels, std::span<const std::string> templates,
    std::span<const std::string> prompts) const {
  if (templates.size() <= 1) return text_embeddings(prompts, "label");
  // Ensembles: the labels' mean embeddings are cached too, under a key no prompt can have (invalid
  // UTF-8 first, then the templates), so that repeated calls (a batch run's every batch) cost no
  // text-tower pass even when labels x templates prompts do not fit in the cache.
  std::string key_prefix = "\xff";
  for (const auto& t : templates) key_prefix.append(t).push_back('\0');
  std::vector<std::vector<float>> texts(labels.size());
  bool all_cached = true;
  for (std::size_t l = 0; l < labels.size() && all_cached; ++l) {
    auto cached = text_cache->get(key_prefix + labels[l]);
    all_cached = cached.has_value();
    if (all_cached) texts[l] = std::move(*cached);
  }
  if (all_cached) return texts;
  // One template at a time, so that every text-tower pass holds prompts of one template (they
  // share its prefix).
  EnsembleSum sum(labels.size());
  for (std::size_t t = 0; t < templates.size(); ++t)
    sum.add(text_embeddings(prompts.subspan(t * labels.size(), labels.size()), "label"));
  texts = sum.embeddings();
  for (std::size_t l = 0; l < labels.size(); ++l) text_cache->put(key_prefix + labels[l], texts[l]);
  return texts;
}

std::vector<std::vector<float>> Model::Impl::label_embeddings(
    std::span<const std::string> labels, const ClassifyOptions& options) const {
  const auto templates = call_templates(options);
  return label_embeddings(labels, templates, make_prompts(labels, templates, options));
}

std::vector<std::vector<LabelScore>> Model::classify_batch(std::span<const Image> images,
                                                           std::span<const std::string> labels,
                                                           const ClassifyOptions& options) const {
  const kernels::ThreadScope threads(impl_->threads);
  // Labels first: a bad label fails before any image work.
  const auto texts = impl_->label_embeddings(labels, options);
  const auto image_embeddings = impl_->image_embeddings(images);
  std::vector<std::vector<LabelScore>> results;
  results.reserve(images.size());
  for (const auto& image_embedding : image_embeddings) {
    results.push_back(score_labels(image_embedding, texts, labels, impl_->model,
                                   impl_->logit_scale_exp, options.top_k));
  }
  return results;
}

std::vector<LabelScore> Model::classify_embedding(std::span<const float> image_embedding,
                                                  std::span<const std::string> labels,
                                                  const ClassifyOptions& options) const {
  const int dim = impl_->model.towers->embedding_dim();
  if (image_embedding.size() != static_cast<std::size_t>(dim)) {
    throw Error(ErrorCode::kInvalidArgument,
                "image embedding has " + std::to_string(image_embedding.size()) +
                    " values; this model's embeddings have " + std::to_string(dim));
  }
  const kernels::ThreadScope threads(impl_->threads);
  const auto texts = impl_->label_embeddings(labels, options);
  return score_labels(std::vector<float>(image_embedding.begin(), image_embedding.end()), texts,
                      labels, impl_->model, impl_->logit_scale_exp, options.top_k);
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
  return std::clamp(dot(e[0], e[1]), -1.0f, 1.0f);
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

Model cached_model(const Options& options) {
  // One load per (repo, revision) for the whole process; concurrent first callers wait on the
  // same load instead of starting their own. A failed load is not cached, so a retry can succeed.
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>, std::shared_future<Model>> cache;
  const auto key = std::make_pair(options.repo, options.revision);
  std::promise<Model> promise;
  std::shared_future<Model> future;
  bool owner = false;
  {
    std::lock_guard lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      future = it->second;
    } else {
      future = promise.get_future().share();
      cache.emplace(key, future);
      owner = true;
    }
  }
  if (!owner) return future.get();  // loaded, or being loaded by another thread
  try {
    auto model = Model::load({.repo = options.repo, .revision = options.revision});
    promise.set_value(model);
  } catch (...) {
    {
      std::lock_guard lock(mutex);
      cache.erase(key);
    }
    promise.set_exception(std::current_exception());
  }
  return future.get();
}

namespace {

ClassifyOptions classify_options(const Options& options) {
  return {.prompt_template = options.prompt_template,
          .templates = options.templates,
          .top_k = options.top_k};
}

}  // namespace

std::vector<LabelScore> classify(const Image& image, std::span<const std::string> labels,
                                 const Options& options) {
  return cached_model(options).classify(image, labels, classify_options(options));
}

std::string label(const Image& image, std::span<const std::string> labels, const Options& options) {
  return cached_model(options).label(image, labels, classify_options(options));
}

float similarity(const Image& a, const Image& b, const Options& options) {
  return cached_model(options).similarity(a, b);
}

}  // namespace zeroshot
