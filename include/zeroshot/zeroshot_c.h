/* zeroshot C API: zero-shot image classification with CLIP and SigLIP from C (C99) and from any
 * language with a C foreign-function interface (the Python and Elixir bindings use it).
 *
 *   zs_model_params p = zs_model_params_defaults();
 *   p.repo = "openai/clip-vit-base-patch32";            (or a local model folder)
 *   zs_model* model; zs_image* image; zs_error* err = NULL;
 *   if (zs_model_open(&p, &model, &err) != ZS_OK) { puts(zs_error_message(err)); ... }
 *   zs_image_from_file("dog.jpg", &image, &err);
 *   const char* labels[] = {"a dog", "a cat"};
 *   zs_score scores[2]; size_t n;
 *   zs_classify(model, image, labels, 2, NULL, scores, &n, &err);
 *   printf("%s %.3f\n", labels[scores[0].label_index], scores[0].score);
 *   zs_image_free(image); zs_model_free(model);
 *
 * Conventions
 * - Every call that can fail returns a zs_status: ZS_OK (0) or an error code. When `error` is not
 *   NULL, a failure also stores a new zs_error there (code and message), which the caller owns and
 *   releases with zs_error_free. No call aborts or throws on bad input.
 * - Handles (zs_model, zs_image, zs_label_set) are opaque. Parameter structs come from their
 *   *_defaults() function; set the fields you need, pass NULL for all defaults.
 * - Strings are UTF-8 and NUL-terminated; the library copies what it keeps.
 *
 * Thread safety: a zs_model, zs_image and zs_label_set are immutable once created; any number of
 * threads may call any function on the same handles at once (one model shared by many threads is
 * the intended use). Only the *_free functions need exclusive use: no call may be using the
 * handle. zs_error values belong to the thread that received them.
 */
#ifndef ZEROSHOT_C_H
#define ZEROSHOT_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ZS_API __attribute__((visibility("default")))
#else
#define ZS_API
#endif

/* Status codes: ints, not an enum, so that the ABI never depends on an enum's size. The codes
 * after ZS_OK are zeroshot::ErrorCode's, in order (docs/ERRORS.md); zs_status_name gives their
 * names ("invalid_argument", ...). */
typedef int zs_status;
#define ZS_OK 0
#define ZS_ERR_INVALID_ARGUMENT 1 /* bad labels, template, option values, NULL pointers */
#define ZS_ERR_IMAGE_READ 2       /* image path missing, unreadable or a directory */
#define ZS_ERR_IMAGE_DECODE 3     /* bytes no decoder accepts, truncated data */
#define ZS_ERR_IMAGE_TOO_LARGE 4  /* declared pixel count above the limit */
#define ZS_ERR_MODEL_NOT_FOUND 5  /* no model folder or cache entry for the repo */
#define ZS_ERR_MODEL_INVALID 6    /* malformed config, tokenizer or weights */
#define ZS_ERR_HUB_NOT_FOUND 7    /* the hub answered 404 */
#define ZS_ERR_HUB_UNAUTHORIZED 8 /* 401/403: gated or private repo */
#define ZS_ERR_NETWORK 9          /* connection failures, server errors */
#define ZS_ERR_OFFLINE 10         /* HF_HUB_OFFLINE=1 and nothing usable cached */
#define ZS_ERR_IO 11              /* local filesystem failures */
#define ZS_ERR_INTERNAL 12        /* a bug in zeroshot (or out of memory) */

typedef int zs_precision;
#define ZS_PRECISION_FP32 0 /* exact to Hugging Face's float32 results */
#define ZS_PRECISION_INT8 1 /* int8 vision tower: faster, small accuracy cost */

typedef struct zs_model zs_model;
typedef struct zs_image zs_image;
typedef struct zs_label_set zs_label_set;
typedef struct zs_error zs_error;

/* "MAJOR.MINOR.PATCH" of the library. */
ZS_API const char* zs_version(void);

/* Errors: the code (a ZS_ERR_*), the message (valid until zs_error_free), release. */
ZS_API zs_status zs_error_code(const zs_error* error);
ZS_API const char* zs_error_message(const zs_error* error);
ZS_API void zs_error_free(zs_error* error);
/* The stable name of a status ("ok", "invalid_argument", ...); "unknown" for other values. */
ZS_API const char* zs_status_name(zs_status status);

typedef struct zs_model_params {
  const char* repo;     /* hub repo id ("org/name") or local folder; default the seed's CLIP */
  const char* revision; /* branch, tag or commit for repo ids; default "main" */
  int threads;          /* threads per call; 0 = all cores */
  zs_precision precision;
  size_t text_cache_entries; /* text embeddings kept per model; 0 disables the cache */
} zs_model_params;
ZS_API zs_model_params zs_model_params_defaults(void);

/* Loads a model (downloading a hub repo into the Hugging Face cache when needed). */
ZS_API zs_status zs_model_open(const zs_model_params* params, zs_model** model, zs_error** error);
/* The process-wide shared model of (repo, revision): loaded once, even when many threads ask at
 * once; later calls give a handle to the same weights. Uses the defaults for threads (all cores),
 * precision (fp32) and the text cache; the other fields of params are ignored. Free each handle
 * with zs_model_free (the model itself stays cached for the life of the process). */
ZS_API zs_status zs_model_open_shared(const zs_model_params* params, zs_model** model,
                                      zs_error** error);
ZS_API void zs_model_free(zs_model* model);
/* The size of the embeddings (projection dim); 0 for NULL. */
ZS_API int zs_model_embedding_dim(const zs_model* model);
/* Lookups of the model's text embedding cache since load (all handles of it together). */
ZS_API void zs_model_text_cache_stats(const zs_model* model, uint64_t* hits, uint64_t* misses);

/* Decoded 8-bit RGB images (EXIF orientation applied, converted as PIL's convert("RGB")). */
ZS_API zs_status zs_image_from_file(const char* path, zs_image** image, zs_error** error);
ZS_API zs_status zs_image_from_buffer(const void* data, size_t size, zs_image** image,
                                      zs_error** error);
/* Interleaved RGB pixels [height][width][3], copied. */
ZS_API zs_status zs_image_from_rgb(int width, int height, const uint8_t* rgb, zs_image** image,
                                   zs_error** error);
ZS_API void zs_image_free(zs_image* image);
ZS_API int zs_image_width(const zs_image* image);
ZS_API int zs_image_height(const zs_image* image);

typedef struct zs_classify_params {
  /* Wrapped around each label ("{label}" replaced). NULL: the labels verbatim. Default
   * "a photo of {label}". Ignored when n_templates > 0. */
  const char* prompt_template;
  /* A prompt ensemble: every label in every template, the mean of their embeddings. */
  const char* const* templates;
  size_t n_templates;
  int top_k; /* keep the best top_k labels (0 = all) */
} zs_classify_params;
ZS_API zs_classify_params zs_classify_params_defaults(void);

/* One label's result: the index of the label in the labels given (or in the label set), its score
 * (CLIP: softmax over all labels; SigLIP: sigmoid), the logit and the cosine. */
typedef struct zs_score {
  size_t label_index;
  float score;
  float logit;
  float cosine;
} zs_score;

/* Scores of every label (the best top_k), best first. `scores` has room for n_labels entries;
 * *n_scores receives how many were written. params NULL: defaults. */
ZS_API zs_status zs_classify(const zs_model* model, const zs_image* image,
                             const char* const* labels, size_t n_labels,
                             const zs_classify_params* params, zs_score* scores, size_t* n_scores,
                             zs_error** error);
/* The index of the best label of zs_classify. */
ZS_API zs_status zs_label(const zs_model* model, const zs_image* image, const char* const* labels,
                          size_t n_labels, const zs_classify_params* params, size_t* best,
                          zs_error** error);
/* Cosine similarity of two images' embeddings, in [-1, 1]. */
ZS_API zs_status zs_similarity(const zs_model* model, const zs_image* a, const zs_image* b,
                               float* similarity, zs_error** error);
/* L2-normalised embeddings, row-major into `embeddings` (n * zs_model_embedding_dim floats). */
ZS_API zs_status zs_embed_images(const zs_model* model, const zs_image* const* images, size_t n,
                                 float* embeddings, zs_error** error);
/* Texts used verbatim (no template). */
ZS_API zs_status zs_embed_texts(const zs_model* model, const char* const* texts, size_t n,
                                float* embeddings, zs_error** error);

/* Labels with their text embeddings prepared once (params' template(s); top_k is not part of it),
 * to score many images without the text tower. It belongs to the model that prepared it. */
ZS_API zs_status zs_label_set_prepare(const zs_model* model, const char* const* labels,
                                      size_t n_labels, const zs_classify_params* params,
                                      zs_label_set** set, zs_error** error);
ZS_API void zs_label_set_free(zs_label_set* set);
ZS_API size_t zs_label_set_size(const zs_label_set* set);
/* zs_classify against a label set: `scores` has room for zs_label_set_size entries. */
ZS_API zs_status zs_classify_label_set(const zs_model* model, const zs_image* image,
                                       const zs_label_set* set, int top_k, zs_score* scores,
                                       size_t* n_scores, zs_error** error);

#ifdef __cplusplus
}
#endif

#endif /* ZEROSHOT_C_H */
