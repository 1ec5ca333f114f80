// The C API (include/zeroshot/zeroshot_c.h) over the public C++ API: handles wrap the library's
// values, every exception becomes a status and a zs_error. No logic of its own beyond that
// translation: the bindings (bindings/python, bindings/elixir) call this, which calls the library.
#include "zeroshot/zeroshot_c.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "zeroshot/error.h"
#include "zeroshot/image.h"
#include "zeroshot/model.h"
#include "zeroshot/version.h"

struct zs_model {
  zeroshot::Model model;
};
struct zs_image {
  zeroshot::Image image;
};
struct zs_label_set {
  zeroshot::LabelSet set;
};
struct zs_error {
  zs_status code;
  std::string message;
};

namespace {

constexpr zs_status kLastCode = ZS_ERR_INTERNAL;

zs_status fail(zs_error** error, zs_status code, const char* message) {
  if (error) *error = new (std::nothrow) zs_error{code, message};
  return code;
}

// Runs body, mapping exceptions to a status (and a zs_error when asked for).
template <typename Body>
zs_status guarded(zs_error** error, Body&& body) noexcept {
  if (error) *error = nullptr;
  try {
    body();
    return ZS_OK;
  } catch (const zeroshot::Error& e) {
    return fail(error, static_cast<zs_status>(e.code()) + 1, e.what());
  } catch (const std::bad_alloc&) {
    return fail(error, ZS_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(error, ZS_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(error, ZS_ERR_INTERNAL, "unknown exception");
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw zeroshot::Error(zeroshot::ErrorCode::kInvalidArgument, what);
}

std::vector<std::string> strings(const char* const* items, std::size_t n, const char* what) {
  require(n == 0 || items != nullptr, what);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    require(items[i] != nullptr, what);
    out.emplace_back(items[i]);
  }
  return out;
}

zeroshot::ClassifyOptions classify_options(const zs_classify_params* params) {
  const zs_classify_params p = params ? *params : zs_classify_params_defaults();
  zeroshot::ClassifyOptions options;
  if (p.prompt_template)
    options.prompt_template = std::string(p.prompt_template);
  else
    options.prompt_template = std::nullopt;
  options.templates = strings(p.templates, p.n_templates, "a template is NULL");
  options.top_k = p.top_k;
  return options;
}

// Scores back to indices into `labels`; labels are unique per call only when the caller made
// them so, so each score claims the first unclaimed index with its label.
void write_scores(const std::vector<zeroshot::LabelScore>& scores,
                  const std::vector<std::string>& labels, zs_score* out, std::size_t* n_out) {
  std::vector<bool> used(labels.size(), false);
  std::size_t n = 0;
  for (const auto& s : scores) {
    std::size_t index = 0;
    while (index < labels.size() && (used[index] || labels[index] != s.label)) ++index;
    if (index == labels.size()) throw zeroshot::Error(zeroshot::ErrorCode::kInternal, "lost label");
    used[index] = true;
    out[n++] = zs_score{index, s.score, s.logit, s.cosine};
  }
  *n_out = n;
}

zeroshot::LoadOptions load_options(const zs_model_params* params) {
  const zs_model_params p = params ? *params : zs_model_params_defaults();
  require(p.repo != nullptr && p.revision != nullptr, "repo and revision must not be NULL");
  require(p.precision == ZS_PRECISION_FP32 || p.precision == ZS_PRECISION_INT8,
          "precision must be ZS_PRECISION_FP32 or ZS_PRECISION_INT8");
  require(p.threads >= 0, "threads must be >= 0 (0 = all cores)");
  zeroshot::LoadOptions options;
  options.repo = p.repo;
  options.revision = p.revision;
  options.threads = p.threads;
  options.precision =
      p.precision == ZS_PRECISION_INT8 ? zeroshot::Precision::kInt8 : zeroshot::Precision::kFloat32;
  options.text_cache_entries = p.text_cache_entries;
  return options;
}

}  // namespace

extern "C" {

const char* zs_version(void) { return zeroshot::version(); }

zs_status zs_error_code(const zs_error* error) { return error ? error->code : ZS_OK; }
const char* zs_error_message(const zs_error* error) { return error ? error->message.c_str() : ""; }
void zs_error_free(zs_error* error) { delete error; }

const char* zs_status_name(zs_status status) {
  if (status == ZS_OK) return "ok";
  if (status < ZS_OK || status > kLastCode) return "unknown";
  return zeroshot::error_code_name(static_cast<zeroshot::ErrorCode>(status - 1));
}

zs_model_params zs_model_params_defaults(void) {
  static const std::string repo(zeroshot::kDefaultRepo);
  const zeroshot::LoadOptions defaults;
  return zs_model_params{repo.c_str(), "main", defaults.threads, ZS_PRECISION_FP32,
                         defaults.text_cache_entries};
}

zs_status zs_model_open(const zs_model_params* params, zs_model** model, zs_error** error) {
  return guarded(error, [&] {
    require(model != nullptr, "model must not be NULL");
    *model = nullptr;
    *model = new zs_model{zeroshot::Model::load(load_options(params))};
  });
}

zs_status zs_model_open_shared(const zs_model_params* params, zs_model** model, zs_error** error) {
  return guarded(error, [&] {
    require(model != nullptr, "model must not be NULL");
    *model = nullptr;
    const zeroshot::LoadOptions options = load_options(params);
    *model =
        new zs_model{zeroshot::cached_model({.repo = options.repo, .revision = options.revision})};
  });
}

void zs_model_free(zs_model* model) { delete model; }

int zs_model_embedding_dim(const zs_model* model) {
  return model ? model->model.embedding_dim() : 0;
}

void zs_model_text_cache_stats(const zs_model* model, uint64_t* hits, uint64_t* misses) {
  const auto stats = model ? model->model.text_cache_stats() : zeroshot::Model::TextCacheStats{};
  if (hits) *hits = stats.hits;
  if (misses) *misses = stats.misses;
}

zs_status zs_image_from_file(const char* path, zs_image** image, zs_error** error) {
  return guarded(error, [&] {
    require(path != nullptr && image != nullptr, "path and image must not be NULL");
    *image = nullptr;
    *image = new zs_image{zeroshot::Image::from_file(path)};
  });
}

zs_status zs_image_from_buffer(const void* data, size_t size, zs_image** image, zs_error** error) {
  return guarded(error, [&] {
    require(image != nullptr && (data != nullptr || size == 0), "data and image must not be NULL");
    *image = nullptr;
    const auto* bytes = static_cast<const std::byte*>(data);
    *image = new zs_image{zeroshot::Image::from_buffer({bytes, size})};
  });
}

zs_status zs_image_from_rgb(int width, int height, const uint8_t* rgb, zs_image** image,
                            zs_error** error) {
  return guarded(error, [&] {
    require(image != nullptr && rgb != nullptr, "rgb and image must not be NULL");
    require(width > 0 && height > 0, "width and height must be > 0");
    *image = nullptr;
    const std::size_t size = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3;
    *image = new zs_image{zeroshot::Image::from_rgb(width, height, {rgb, size})};
  });
}

void zs_image_free(zs_image* image) { delete image; }
int zs_image_width(const zs_image* image) { return image ? image->image.width() : 0; }
int zs_image_height(const zs_image* image) { return image ? image->image.height() : 0; }

zs_classify_params zs_classify_params_defaults(void) {
  static const std::string prompt_template(zeroshot::kDefaultTemplate);
  return zs_classify_params{prompt_template.c_str(), nullptr, 0, 0};
}

zs_status zs_classify(const zs_model* model, const zs_image* image, const char* const* labels,
                      size_t n_labels, const zs_classify_params* params, zs_score* scores,
                      size_t* n_scores, zs_error** error) {
  return guarded(error, [&] {
    require(model && image && scores && n_scores, "model, image, scores and n_scores: not NULL");
    *n_scores = 0;
    const auto names = strings(labels, n_labels, "a label is NULL");
    write_scores(model->model.classify(image->image, names, classify_options(params)), names,
                 scores, n_scores);
  });
}

zs_status zs_label(const zs_model* model, const zs_image* image, const char* const* labels,
                   size_t n_labels, const zs_classify_params* params, size_t* best,
                   zs_error** error) {
  return guarded(error, [&] {
    require(model && image && best, "model, image and best must not be NULL");
    const auto names = strings(labels, n_labels, "a label is NULL");
    const std::string label = model->model.label(image->image, names, classify_options(params));
    std::size_t index = 0;
    while (index < names.size() && names[index] != label) ++index;
    *best = index;
  });
}

zs_status zs_similarity(const zs_model* model, const zs_image* a, const zs_image* b,
                        float* similarity, zs_error** error) {
  return guarded(error, [&] {
    require(model && a && b && similarity, "model, images and similarity must not be NULL");
    *similarity = model->model.similarity(a->image, b->image);
  });
}

zs_status zs_embed_images(const zs_model* model, const zs_image* const* images, size_t n,
                          float* embeddings, zs_error** error) {
  return guarded(error, [&] {
    require(model && (n == 0 || (images && embeddings)), "model, images, embeddings: not NULL");
    std::vector<zeroshot::Image> values;
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      require(images[i] != nullptr, "an image is NULL");
      values.push_back(images[i]->image);
    }
    float* out = embeddings;
    for (const auto& row : model->model.embed_images(values)) {
      std::memcpy(out, row.data(), row.size() * sizeof(float));
      out += row.size();
    }
  });
}

zs_status zs_embed_texts(const zs_model* model, const char* const* texts, size_t n,
                         float* embeddings, zs_error** error) {
  return guarded(error, [&] {
    require(model && (n == 0 || embeddings), "model and embeddings must not be NULL");
    float* out = embeddings;
    for (const auto& row : model->model.embed_texts(strings(texts, n, "a text is NULL"))) {
      std::memcpy(out, row.data(), row.size() * sizeof(float));
      out += row.size();
    }
  });
}

zs_status zs_label_set_prepare(const zs_model* model, const char* const* labels, size_t n_labels,
                               const zs_classify_params* params, zs_label_set** set,
                               zs_error** error) {
  return guarded(error, [&] {
    require(model && set, "model and set must not be NULL");
    *set = nullptr;
    const auto names = strings(labels, n_labels, "a label is NULL");
    *set = new zs_label_set{model->model.prepare_labels(names, classify_options(params))};
  });
}

void zs_label_set_free(zs_label_set* set) { delete set; }
size_t zs_label_set_size(const zs_label_set* set) { return set ? set->set.size() : 0; }

zs_status zs_classify_label_set(const zs_model* model, const zs_image* image,
                                const zs_label_set* set, int top_k, zs_score* scores,
                                size_t* n_scores, zs_error** error) {
  return guarded(error, [&] {
    require(model && image && set && scores && n_scores, "arguments must not be NULL");
    *n_scores = 0;
    write_scores(model->model.classify(image->image, set->set, top_k), set->set.labels(), scores,
                 n_scores);
  });
}

}  // extern "C"
