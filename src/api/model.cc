// The public Model: loads a CLIP folder (config, tokenizer, weights) once and
// answers classify, label, similarity and embedding calls. Everything held here
// is immutable after load.
#include "zeroshot/model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <numeric>

#include "config/clip_config.h"
#include "hub/hub.h"
#include "image/preprocess.h"
#include "model/clip_model.h"
#include "safetensors/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot {

struct Model::Impl {
  std::string folder;
  config::ClipConfig config;
  image::PreprocessParams preprocess;
  tokenizer::Tokenizer tokenizer;
  model::ClipModel clip; // owns its (packed) weights: the safetensors mapping
                         // is closed after load
  float logit_scale_exp = 1.0f;

  // [projection_dim], L2-normalised.
  std::vector<float> image_embedding(const Image &image) const;
  std::vector<float> text_embedding(std::string_view text) const;
};

namespace {

namespace fs = std::filesystem;

void require_file(const std::string &folder, const char *name,
                  const std::string &repo) {
  if (!fs::is_regular_file(fs::path(folder) / name)) {
    throw Error(ErrorCode::kModelNotFound,
                "model '" + repo + "': " + (fs::path(folder) / name).string() +
                    " is missing; a CLIP model folder needs config.json, "
                    "model.safetensors, "
                    "preprocessor_config.json and tokenizer.json (or "
                    "vocab.json + merges.txt)");
  }
}

image::PreprocessParams to_params(const config::PreprocessorConfig &p,
                                  const config::VisionConfig &vision,
                                  const std::string &source) {
  image::PreprocessParams params;
  params.do_resize = p.do_resize;
  params.shortest_edge = p.shortest_edge;
  params.resample = static_cast<int>(p.resample);
  params.do_center_crop = p.do_center_crop;
  params.crop_height = p.crop_height;
  params.crop_width = p.crop_width;
  params.do_rescale = p.do_rescale;
  params.rescale_factor = p.rescale_factor;
  params.do_normalize = p.do_normalize;
  params.mean = p.image_mean;
  params.std = p.image_std;
  // The vision tower takes exactly image_size x image_size; HF would fail later
  // with a shape error.
  if (!p.do_center_crop || p.crop_height != vision.image_size ||
      p.crop_width != vision.image_size) {
    throw Error(
        ErrorCode::kModelInvalid,
        source +
            ": the preprocessor must centre-crop to the model's image_size (" +
            std::to_string(vision.image_size) + "x" +
            std::to_string(vision.image_size) + "), but crops to " +
            std::to_string(p.crop_height) + "x" + std::to_string(p.crop_width) +
            (p.do_center_crop ? "" : " (crop disabled)"));
  }
  return params;
}

void l2_normalize(std::vector<float> &v) {
  double sum = 0;
  for (float x : v)
    sum += static_cast<double>(x) * x;
  const float inv = sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
  for (float &x : v)
    x *= inv;
}

float dot(const std::vector<float> &a, const std::vector<float> &b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

// The prompts for the labels: every "{label}" in the template replaced by the
// label; other text, including stray braces, is kept verbatim (docs/ERRORS.md).
// An empty label is a valid prompt, as in Hugging Face (verbatim it tokenises
// to <|startoftext|><|endoftext|>).
std::vector<std::string> make_prompts(std::span<const std::string> labels,
                                      const ClassifyOptions &options) {
  static constexpr std::string_view kField = "{label}";
  if (labels.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "no labels given: classify needs at least one label");
  }
  if (options.prompt_template &&
      options.prompt_template->find(kField) == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                "template \"" + *options.prompt_template +
                    "\" has no {label} placeholder (e.g. \"a photo of "
                    "{label}\"); pass no "
                    "template to use labels verbatim");
  }
  std::vector<std::string> prompts;
  prompts.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!options.prompt_template) {
      prompts.push_back(labels[i]);
      continue;
    }
    std::string prompt;
    std::string_view t = *options.prompt_template;
    for (std::size_t pos; (pos = t.find(kField)) != std::string_view::npos;
         t.remove_prefix(pos + kField.size())) {
      prompt.append(t.substr(0, pos)).append(labels[i]);
    }
    prompts.push_back(prompt.append(t));
  }
  return prompts;
}

} // namespace

std::vector<float> Model::Impl::image_embedding(const Image &image) const {
  const int side = config.vision.image_size;
  std::vector<float> pixels(3 * static_cast<std::size_t>(side) *
                            side); // [3, side, side]
  image::preprocess(image.rgb().data(), image.width(), image.height(),
                    preprocess, pixels.data());
  std::vector<float> embedding(config.projection_dim); // [projection_dim]
  clip.encode_images(pixels.data(), /*batch=*/1, embedding.data());
  l2_normalize(embedding);
  return embedding;
}

std::vector<float> Model::Impl::text_embedding(std::string_view text) const {
  const auto ids = tokenizer.encode(text, config.text.max_position_embeddings);
  std::vector<float> embedding(config.projection_dim); // [projection_dim]
  clip.encode_text(ids, embedding.data());
  l2_normalize(embedding);
  return embedding;
}

Model Model::load(const LoadOptions &options) {
  const std::string folder =
      hub::resolve_model_folder({.repo = options.repo,
                                 .revision = options.revision,
                                 .progress = options.progress});
  for (const char *name :
       {"config.json", "model.safetensors", "preprocessor_config.json"})
    require_file(folder, name, options.repo);

  const std::string config_path = (fs::path(folder) / "config.json").string();
  const std::string preprocessor_path =
      (fs::path(folder) / "preprocessor_config.json").string();
  auto config =
      config::parse_clip_config(util::read_file(config_path), config_path);
  auto preprocessor = config::parse_preprocessor_config(
      util::read_file(preprocessor_path), preprocessor_path);
  auto params = to_params(preprocessor, config.vision, preprocessor_path);
  auto tokenizer = tokenizer::Tokenizer::from_folder(folder);
  model::ClipModel clip = [&] {
    auto weights = safetensors::File::open(
        (fs::path(folder) / "model.safetensors").string());
    return model::ClipModel(config, weights.tensors(), weights.path());
  }();
  const float scale = std::exp(clip.logit_scale());
  auto impl = std::make_shared<Impl>(Impl{folder, std::move(config), params,
                                          std::move(tokenizer), std::move(clip),
                                          scale});
  return Model(std::move(impl));
}

std::vector<LabelScore> Model::classify(const Image &image,
                                        std::span<const std::string> labels,
                                        const ClassifyOptions &options) const {
  const auto prompts = make_prompts(labels, options);
  const auto image_embedding = impl_->image_embedding(image);
  // logits = exp(logit_scale) * cosine, then a softmax over the labels (max
  // subtracted).
  std::vector<float> logits(prompts.size()); // [labels]
  for (std::size_t i = 0; i < prompts.size(); ++i)
    logits[i] = impl_->logit_scale_exp *
                dot(image_embedding, impl_->text_embedding(prompts[i]));
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float &l : logits)
    sum += (l = std::exp(l - max_logit));
  std::vector<LabelScore> scores;
  scores.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    scores.push_back({labels[i], static_cast<float>(logits[i] / sum)});
  std::stable_sort(scores.begin(), scores.end(),
                   [](const LabelScore &a, const LabelScore &b) {
                     return a.score > b.score;
                   });
  return scores;
}

std::string Model::label(const Image &image,
                         std::span<const std::string> labels,
                         const ClassifyOptions &options) const {
  return classify(image, labels, options).front().label;
}

float Model::similarity(const Image &a, const Image &b) const {
  const float cosine =
      dot(impl_->image_embedding(a), impl_->image_embedding(b));
  return std::clamp(cosine, -1.0f, 1.0f);
}

std::vector<float> Model::embed_image(const Image &image) const {
  return impl_->image_embedding(image);
}

std::vector<float> Model::embed_text(std::string_view text) const {
  return impl_->text_embedding(text);
}

std::vector<int> Model::tokenize(std::string_view text) const {
  return impl_->tokenizer.encode(text,
                                 impl_->config.text.max_position_embeddings);
}

int Model::embedding_dim() const { return impl_->config.projection_dim; }
float Model::logit_scale() const { return impl_->logit_scale_exp; }
const std::string &Model::folder() const { return impl_->folder; }

Model cached_model(const Options &options) {
  // One load per (repo, revision) for the whole process; concurrent first
  // callers wait on the same load instead of starting their own. A failed load
  // is not cached, so a retry can succeed.
  static std::mutex mutex;
  static std::map<std::pair<std::string, std::string>,
                  std::shared_future<Model>>
      cache;
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
  if (!owner)
    return future.get(); // loaded, or being loaded by another thread
  try {
    auto model =
        Model::load({.repo = options.repo, .revision = options.revision});
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

std::vector<LabelScore> classify(const Image &image,
                                 std::span<const std::string> labels,
                                 const Options &options) {
  return cached_model(options).classify(
      image, labels, {.prompt_template = options.prompt_template});
}

std::string label(const Image &image, std::span<const std::string> labels,
                  const Options &options) {
  return cached_model(options).label(
      image, labels, {.prompt_template = options.prompt_template});
}

float similarity(const Image &a, const Image &b, const Options &options) {
  return cached_model(options).similarity(a, b);
}

} // namespace zeroshot
