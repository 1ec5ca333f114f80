/* The ZeroShot NIF: Erlang terms in, zs_* calls (include/zeroshot/zeroshot_c.h only), terms out.
 * No logic of its own. The calls that run the model are dirty CPU NIFs (they take milliseconds to
 * seconds); a model handle is a resource whose destructor frees it. Results:
 *   {:ok, value} | {:error, {code_atom, message_binary}}
 * Images: {:path, binary} | {:bytes, binary} | {:rgb, width, height, binary}. */
#include <erl_nif.h>
#include <stdlib.h>
#include <string.h>

#include "zeroshot/zeroshot_c.h"

static ErlNifResourceType* model_type;

typedef struct {
  zs_model* model;
} model_res;

static void model_dtor(ErlNifEnv* env, void* obj) {
  (void)env;
  zs_model_free(((model_res*)obj)->model);
}

static int load(ErlNifEnv* env, void** priv, ERL_NIF_TERM info) {
  (void)priv;
  (void)info;
  model_type = enif_open_resource_type(env, NULL, "zeroshot_model", model_dtor,
                                       ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, NULL);
  return model_type ? 0 : 1;
}

static ERL_NIF_TERM ok(ErlNifEnv* env, ERL_NIF_TERM value) {
  return enif_make_tuple2(env, enif_make_atom(env, "ok"), value);
}

static ERL_NIF_TERM binary_of(ErlNifEnv* env, const char* s) {
  ERL_NIF_TERM term;
  const size_t n = strlen(s);
  unsigned char* data = enif_make_new_binary(env, n, &term);
  memcpy(data, s, n);
  return term;
}

/* {:error, {code, message}} from a failed call; frees the error. */
static ERL_NIF_TERM error_term(ErlNifEnv* env, zs_status status, zs_error* error) {
  ERL_NIF_TERM message = binary_of(env, error ? zs_error_message(error) : "");
  zs_error_free(error);
  return enif_make_tuple2(
      env, enif_make_atom(env, "error"),
      enif_make_tuple2(env, enif_make_atom(env, zs_status_name(status)), message));
}

/* A NUL-terminated copy of an Elixir binary (caller frees), or NULL when not a binary. */
static char* cstring(ErlNifEnv* env, ERL_NIF_TERM term) {
  ErlNifBinary bin;
  if (!enif_inspect_binary(env, term, &bin) || memchr(bin.data, 0, bin.size)) return NULL;
  char* s = malloc(bin.size + 1);
  if (!s) return NULL;
  memcpy(s, bin.data, bin.size);
  s[bin.size] = '\0';
  return s;
}

static void free_strings(char** items, unsigned n) {
  if (!items) return;
  for (unsigned i = 0; i < n; ++i) free(items[i]);
  free(items);
}

/* A list of binaries as C strings; NULL on anything else. */
static char** cstrings(ErlNifEnv* env, ERL_NIF_TERM list, unsigned* n) {
  if (!enif_get_list_length(env, list, n)) return NULL;
  char** items = calloc(*n + 1, sizeof(char*));
  if (!items) return NULL;
  ERL_NIF_TERM head, tail = list;
  for (unsigned i = 0; i < *n; ++i) {
    enif_get_list_cell(env, tail, &head, &tail);
    if (!(items[i] = cstring(env, head))) {
      free_strings(items, *n);
      return NULL;
    }
  }
  return items;
}

static int get_model(ErlNifEnv* env, ERL_NIF_TERM term, const zs_model** model) {
  model_res* res;
  if (!enif_get_resource(env, term, model_type, (void**)&res)) return 0;
  *model = res->model;
  return 1;
}

/* Decodes an image term; on failure returns a status (and error) to report. */
static zs_status get_image(ErlNifEnv* env, ERL_NIF_TERM term, zs_image** image, zs_error** error) {
  int arity;
  const ERL_NIF_TERM* t;
  ErlNifBinary bin;
  *image = NULL;
  if (!enif_get_tuple(env, term, &arity, &t)) return ZS_ERR_INVALID_ARGUMENT;
  if (arity == 2 && enif_is_identical(t[0], enif_make_atom(env, "path"))) {
    char* path = cstring(env, t[1]);
    if (!path) return ZS_ERR_INVALID_ARGUMENT;
    zs_status status = zs_image_from_file(path, image, error);
    free(path);
    return status;
  }
  if (arity == 2 && enif_is_identical(t[0], enif_make_atom(env, "bytes")) &&
      enif_inspect_binary(env, t[1], &bin))
    return zs_image_from_buffer(bin.data, bin.size, image, error);
  int width, height;
  if (arity == 4 && enif_is_identical(t[0], enif_make_atom(env, "rgb")) &&
      enif_get_int(env, t[1], &width) && enif_get_int(env, t[2], &height) &&
      enif_inspect_binary(env, t[3], &bin) && width > 0 && height > 0 &&
      bin.size == (size_t)width * (size_t)height * 3)
    return zs_image_from_rgb(width, height, bin.data, image, error);
  return ZS_ERR_INVALID_ARGUMENT;
}

static ERL_NIF_TERM bad_image(ErlNifEnv* env, zs_status status, zs_error* error) {
  if (error) return error_term(env, status, error);
  return enif_make_tuple2(
      env, enif_make_atom(env, "error"),
      enif_make_tuple2(env, enif_make_atom(env, "invalid_argument"),
                       binary_of(env,
                                 "image must be {:path, p}, {:bytes, b} or "
                                 "{:rgb, width, height, pixels} with width*height*3 bytes")));
}

/* open_shared(repo, revision) */
static ERL_NIF_TERM open_shared(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  char* repo = cstring(env, argv[0]);
  char* revision = cstring(env, argv[1]);
  if (!repo || !revision) {
    free(repo);
    free(revision);
    return enif_make_badarg(env);
  }
  zs_model_params params = zs_model_params_defaults();
  params.repo = repo;
  params.revision = revision;
  zs_model* model = NULL;
  zs_error* error = NULL;
  zs_status status = zs_model_open_shared(&params, &model, &error);
  free(repo);
  free(revision);
  if (status != ZS_OK) return error_term(env, status, error);
  model_res* res = enif_alloc_resource(model_type, sizeof(model_res));
  res->model = model;
  ERL_NIF_TERM term = enif_make_resource(env, res);
  enif_release_resource(res);
  return ok(env, term);
}

/* classify(model, image, labels, template | nil, top_k) -> {:ok, [{index, score}]} */
static ERL_NIF_TERM classify(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const zs_model* model;
  unsigned n_labels = 0;
  int top_k;
  if (!get_model(env, argv[0], &model) || !enif_get_int(env, argv[4], &top_k))
    return enif_make_badarg(env);
  char** labels = cstrings(env, argv[2], &n_labels);
  if (!labels) return enif_make_badarg(env);
  zs_classify_params params = zs_classify_params_defaults();
  char* template_ = NULL;
  if (enif_is_identical(argv[3], enif_make_atom(env, "nil"))) {
    params.prompt_template = NULL;
  } else if (!(template_ = cstring(env, argv[3]))) {
    free_strings(labels, n_labels);
    return enif_make_badarg(env);
  } else {
    params.prompt_template = template_;
  }
  params.top_k = top_k;
  zs_error* error = NULL;
  zs_image* image = NULL;
  ERL_NIF_TERM result;
  zs_status status = get_image(env, argv[1], &image, &error);
  if (status != ZS_OK) {
    result = bad_image(env, status, error);
  } else {
    zs_score* scores = calloc(n_labels ? n_labels : 1, sizeof(zs_score));
    size_t n = 0;
    status = zs_classify(model, image, (const char* const*)labels, n_labels, &params, scores, &n,
                         &error);
    if (status != ZS_OK) {
      result = error_term(env, status, error);
    } else {
      ERL_NIF_TERM list = enif_make_list(env, 0);
      for (size_t i = n; i-- > 0;)
        list =
            enif_make_list_cell(env,
                                enif_make_tuple2(env, enif_make_uint64(env, scores[i].label_index),
                                                 enif_make_double(env, scores[i].score)),
                                list);
      result = ok(env, list);
    }
    free(scores);
  }
  zs_image_free(image);
  free(template_);
  free_strings(labels, n_labels);
  return result;
}

/* similarity(model, image_a, image_b) -> {:ok, float} */
static ERL_NIF_TERM similarity(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const zs_model* model;
  if (!get_model(env, argv[0], &model)) return enif_make_badarg(env);
  zs_image *a = NULL, *b = NULL;
  zs_error* error = NULL;
  ERL_NIF_TERM result;
  zs_status status = get_image(env, argv[1], &a, &error);
  if (status == ZS_OK) status = get_image(env, argv[2], &b, &error);
  if (status != ZS_OK) {
    result = bad_image(env, status, error);
  } else {
    float value = 0;
    status = zs_similarity(model, a, b, &value, &error);
    result =
        status == ZS_OK ? ok(env, enif_make_double(env, value)) : error_term(env, status, error);
  }
  zs_image_free(a);
  zs_image_free(b);
  return result;
}

/* text_cache_stats(model) -> {hits, misses} */
static ERL_NIF_TERM text_cache_stats(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  const zs_model* model;
  if (!get_model(env, argv[0], &model)) return enif_make_badarg(env);
  uint64_t hits = 0, misses = 0;
  zs_model_text_cache_stats(model, &hits, &misses);
  return enif_make_tuple2(env, enif_make_uint64(env, hits), enif_make_uint64(env, misses));
}

static ERL_NIF_TERM version(ErlNifEnv* env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  (void)argv;
  return binary_of(env, zs_version());
}

static ErlNifFunc funcs[] = {
    {"open_shared", 2, open_shared, ERL_NIF_DIRTY_JOB_CPU_BOUND},
    {"classify", 5, classify, ERL_NIF_DIRTY_JOB_CPU_BOUND},
    {"similarity", 3, similarity, ERL_NIF_DIRTY_JOB_CPU_BOUND},
    {"text_cache_stats", 1, text_cache_stats, 0},
    {"version", 0, version, 0},
};

ERL_NIF_INIT(Elixir.ZeroShot.Nif, funcs, load, NULL, NULL, NULL)
