/* The C API (include/zeroshot/zeroshot_c.h) from C99, on the fixture CLIP model: its numbers must
 * be the CLI's (`zeroshot classify|similarity|embed --json`, run by this test) to 1e-6, images from
 * a path, encoded bytes and RGB pixels must agree, and bad input must come back as a status and a
 * message, never a crash. Usage: c_api_test FIXTURES_DIR ZEROSHOT_CLI (ctest c_api). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zeroshot/zeroshot_c.h"

static int failures = 0;
static const char* fixtures;
static const char* cli;
static char model_dir[4096];

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

#define CHECK_OK(call)                                                                 \
  do {                                                                                 \
    zs_status check_st_ = (call);                                                      \
    if (check_st_ != ZS_OK) {                                                          \
      fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #call, check_st_); \
      ++failures;                                                                      \
    }                                                                                  \
  } while (0)

/* The whole stdout of a shell command (caller frees). */
static char* run(const char* command) {
  FILE* pipe = popen(command, "r");
  size_t size = 0, cap = 1 << 16;
  char* out = malloc(cap);
  if (!pipe || !out) abort();
  size_t n;
  while ((n = fread(out + size, 1, cap - size - 1, pipe)) > 0) {
    size += n;
    if (cap - size < 2) {
      cap *= 2;
      out = realloc(out, cap);
      if (!out) abort();
    }
  }
  out[size] = '\0';
  if (pclose(pipe) != 0) {
    fprintf(stderr, "command failed: %s\n", command);
    ++failures;
  }
  return out;
}

static void image_path(char* out, size_t size, const char* name) {
  snprintf(out, size, "%s/images/%s", fixtures, name);
}

/* `classify --json` output: [{"label":"..","score":x},...] in order; returns the count. */
static size_t parse_scores(const char* json, char labels[][64], double* scores, size_t max) {
  size_t n = 0;
  const char* p = json;
  while (n < max && (p = strstr(p, "\"label\":\"")) != NULL) {
    p += strlen("\"label\":\"");
    const char* end = strchr(p, '"');
    size_t len = (size_t)(end - p);
    if (len > 63) len = 63;
    memcpy(labels[n], p, len);
    labels[n][len] = '\0';
    p = strstr(end, "\"score\":") + strlen("\"score\":");
    scores[n++] = strtod(p, NULL);
  }
  return n;
}

/* The index-th "embedding":[...] array of `embed --json` output; returns its length. */
static size_t parse_embedding(const char* json, int index, double* out, size_t max) {
  const char* p = json;
  for (int i = 0; i <= index; ++i) {
    p = strstr(p, "\"embedding\":[");
    if (!p) return 0;
    p += strlen("\"embedding\":[");
  }
  size_t n = 0;
  while (n < max) {
    char* end;
    out[n++] = strtod(p, &end);
    if (*end != ',') break;
    p = end + 1;
  }
  return n;
}

static zs_model* open_fixture(void) {
  zs_model_params params = zs_model_params_defaults();
  params.repo = model_dir;
  zs_model* model = NULL;
  zs_error* error = NULL;
  if (zs_model_open(&params, &model, &error) != ZS_OK) {
    fprintf(stderr, "open: %s\n", zs_error_message(error));
    zs_error_free(error);
    exit(1);
  }
  return model;
}

static zs_image* load(const char* name) {
  char path[4096];
  image_path(path, sizeof path, name);
  zs_image* image = NULL;
  CHECK(zs_image_from_file(path, &image, NULL) == ZS_OK);
  if (!image) exit(1);
  return image;
}

static void test_version_and_defaults(void) {
  const char* v = zs_version();
  int major, minor, patch;
  CHECK(v != NULL && sscanf(v, "%d.%d.%d", &major, &minor, &patch) == 3);
  zs_model_params p = zs_model_params_defaults();
  CHECK(strcmp(p.repo, "openai/clip-vit-base-patch32") == 0);
  CHECK(strcmp(p.revision, "main") == 0);
  CHECK(p.threads == 0 && p.precision == ZS_PRECISION_FP32);
  zs_classify_params c = zs_classify_params_defaults();
  CHECK(strcmp(c.prompt_template, "a photo of {label}") == 0);
  CHECK(c.n_templates == 0 && c.top_k == 0);
  CHECK(strcmp(zs_status_name(ZS_OK), "ok") == 0);
  CHECK(strcmp(zs_status_name(ZS_ERR_INVALID_ARGUMENT), "invalid_argument") == 0);
  CHECK(strcmp(zs_status_name(ZS_ERR_IMAGE_DECODE), "image_decode") == 0);
  CHECK(strcmp(zs_status_name(ZS_ERR_INTERNAL), "internal") == 0);
  CHECK(strcmp(zs_status_name(99), "unknown") == 0);
}

/* zs_classify against `zeroshot classify --json` (template: the default, or verbatim). */
static void check_classify(zs_model* model, const char* image_name, int verbatim) {
  static const char* labels[] = {"a dog", "a cat", "a horse", "a red square"};
  const size_t n_labels = 4;
  char path[4096], command[16384];
  image_path(path, sizeof path, image_name);
  snprintf(command, sizeof command, "'%s' classify --json %s --repo '%s' '%s' '%s' '%s' '%s' '%s'",
           cli, verbatim ? "--no-template" : "", model_dir, path, labels[0], labels[1], labels[2],
           labels[3]);
  char* json = run(command);
  char want_labels[8][64];
  double want[8];
  const size_t n_want = parse_scores(json, want_labels, want, 8);
  free(json);
  CHECK(n_want == n_labels);

  zs_image* image = load(image_name);
  zs_classify_params params = zs_classify_params_defaults();
  if (verbatim) params.prompt_template = NULL;
  zs_score scores[4];
  size_t n = 0;
  CHECK_OK(zs_classify(model, image, labels, n_labels, &params, scores, &n, NULL));
  CHECK(n == n_want);
  double sum = 0;
  for (size_t i = 0; i < n && i < n_want; ++i) {
    CHECK(strcmp(labels[scores[i].label_index], want_labels[i]) == 0);
    CHECK(fabs(scores[i].score - want[i]) <= 1e-6);
    CHECK(scores[i].cosine >= -1 && scores[i].cosine <= 1);
    sum += scores[i].score;
  }
  CHECK(fabs(sum - 1) < 1e-5);

  size_t best = 99;
  CHECK_OK(zs_label(model, image, labels, n_labels, &params, &best, NULL));
  CHECK(best == scores[0].label_index);

  /* top_k keeps the best, with the same scores */
  zs_score top[4];
  size_t n_top = 0;
  params.top_k = 2;
  CHECK_OK(zs_classify(model, image, labels, n_labels, &params, top, &n_top, NULL));
  CHECK(n_top == 2);
  CHECK(top[0].label_index == scores[0].label_index && top[0].score == scores[0].score);
  CHECK(top[1].label_index == scores[1].label_index && top[1].score == scores[1].score);

  /* a prepared label set gives the same scores */
  params.top_k = 0;
  zs_label_set* set = NULL;
  CHECK_OK(zs_label_set_prepare(model, labels, n_labels, &params, &set, NULL));
  CHECK(zs_label_set_size(set) == n_labels);
  zs_score from_set[4];
  size_t n_set = 0;
  CHECK_OK(zs_classify_label_set(model, image, set, 0, from_set, &n_set, NULL));
  CHECK(n_set == n);
  for (size_t i = 0; i < n && i < n_set; ++i) {
    CHECK(from_set[i].label_index == scores[i].label_index);
    CHECK(fabs(from_set[i].score - scores[i].score) <= 1e-7);
  }
  zs_label_set_free(set);
  zs_image_free(image);
}

static void test_image_sources(zs_model* model) {
  /* encoded bytes give the file's embedding */
  char path[4096];
  image_path(path, sizeof path, "scene_640x480_q92.jpg");
  FILE* f = fopen(path, "rb");
  CHECK(f != NULL);
  if (!f) return;
  static unsigned char bytes[1 << 20];
  const size_t size = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  const int dim = zs_model_embedding_dim(model);
  CHECK(dim == 24); /* the fixture's projection_dim (config.json) */
  zs_image* from_file = load("scene_640x480_q92.jpg");
  zs_image* from_bytes = NULL;
  CHECK_OK(zs_image_from_buffer(bytes, size, &from_bytes, NULL));
  CHECK(zs_image_width(from_bytes) == 640 && zs_image_height(from_bytes) == 480);
  float a[24], b[24];
  const zs_image* one[1] = {from_file};
  CHECK_OK(zs_embed_images(model, one, 1, a, NULL));
  one[0] = from_bytes;
  CHECK_OK(zs_embed_images(model, one, 1, b, NULL));
  CHECK(memcmp(a, b, sizeof a) == 0);
  zs_image_free(from_file);
  zs_image_free(from_bytes);

  /* RGB pixels give what the same pixels written as a PPM file give */
  enum { W = 37, H = 29 };
  static uint8_t rgb[W * H * 3];
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      uint8_t* p = rgb + (y * W + x) * 3;
      p[0] = (uint8_t)(x * 7);
      p[1] = (uint8_t)(y * 9);
      p[2] = (uint8_t)((x * y) & 255);
    }
  char ppm[] = "/tmp/zs_c_api_XXXXXX";
  int fd = mkstemp(ppm);
  CHECK(fd >= 0);
  FILE* out = fdopen(fd, "wb");
  fprintf(out, "P6\n%d %d\n255\n", W, H);
  fwrite(rgb, 1, sizeof rgb, out);
  fclose(out);
  char ppm_name[64];
  snprintf(ppm_name, sizeof ppm_name, "%s.ppm", ppm);
  rename(ppm, ppm_name);
  zs_image* from_ppm = NULL;
  zs_image* from_rgb = NULL;
  CHECK_OK(zs_image_from_file(ppm_name, &from_ppm, NULL));
  CHECK_OK(zs_image_from_rgb(W, H, rgb, &from_rgb, NULL));
  remove(ppm_name);
  if (from_ppm && from_rgb) {
    const zs_image* two[2] = {from_ppm, from_rgb};
    float e[48];
    CHECK_OK(zs_embed_images(model, two, 2, e, NULL));
    CHECK(memcmp(e, e + 24, 24 * sizeof(float)) == 0);
  }
  zs_image_free(from_ppm);
  zs_image_free(from_rgb);
}

static void test_similarity_and_embeddings(zs_model* model) {
  char a[4096], b[4096], command[16384];
  image_path(a, sizeof a, "scene_640x480.png");
  image_path(b, sizeof b, "small_100x80.png");
  snprintf(command, sizeof command, "'%s' similarity --json --repo '%s' '%s' '%s'", cli, model_dir,
           a, b);
  char* json = run(command);
  const char* p = strstr(json, "\"similarity\":");
  const double want = p ? strtod(p + strlen("\"similarity\":"), NULL) : 99;
  free(json);
  zs_image* ia = load("scene_640x480.png");
  zs_image* ib = load("small_100x80.png");
  float got = 99;
  CHECK_OK(zs_similarity(model, ia, ib, &got, NULL));
  CHECK(fabs(got - want) <= 1e-6);

  snprintf(command, sizeof command,
           "'%s' embed --json --repo '%s' --image '%s' --image '%s' --text 'a photo of a dog' "
           "--text 'shapes'",
           cli, model_dir, a, b);
  json = run(command);
  const zs_image* images[2] = {ia, ib};
  const char* texts[2] = {"a photo of a dog", "shapes"};
  float got_images[48], got_texts[48];
  CHECK_OK(zs_embed_images(model, images, 2, got_images, NULL));
  CHECK_OK(zs_embed_texts(model, texts, 2, got_texts, NULL));
  for (int row = 0; row < 4; ++row) {
    double want_row[64];
    CHECK(parse_embedding(json, row, want_row, 64) == 24);
    const float* mine = row < 2 ? got_images + row * 24 : got_texts + (row - 2) * 24;
    double norm = 0;
    for (int i = 0; i < 24; ++i) {
      CHECK(fabs(mine[i] - want_row[i]) <= 1e-6);
      norm += (double)mine[i] * mine[i];
    }
    CHECK(fabs(norm - 1) < 1e-5);
  }
  free(json);
  zs_image_free(ia);
  zs_image_free(ib);
}

/* `error_out` is read after the call (an argument `error` could be read before it). */
static void expect_error(zs_status status, zs_error** error_out, zs_status code, const char* part) {
  zs_error* error = *error_out;
  *error_out = NULL;
  CHECK(status == code);
  CHECK(error != NULL);
  if (!error) return;
  CHECK(zs_error_code(error) == code);
  if (part && !strstr(zs_error_message(error), part)) {
    fprintf(stderr, "message '%s' lacks '%s'\n", zs_error_message(error), part);
    ++failures;
  }
  zs_error_free(error);
}

static void test_errors(zs_model* model) {
  zs_error* error = NULL;
  zs_image* image = NULL;
  expect_error(zs_image_from_file("/nonexistent/x.png", &image, &error), &error, ZS_ERR_IMAGE_READ,
               "/nonexistent/x.png");
  CHECK(image == NULL);
  static const char garbage[] = "this is not an image at all";
  error = NULL;
  expect_error(zs_image_from_buffer(garbage, sizeof garbage, &image, &error), &error,
               ZS_ERR_IMAGE_DECODE, NULL);
  CHECK(image == NULL);
  /* the same failure without an error out-parameter: only the status */
  CHECK(zs_image_from_buffer(garbage, sizeof garbage, &image, NULL) == ZS_ERR_IMAGE_DECODE);
  error = NULL;
  expect_error(zs_image_from_rgb(0, 5, (const uint8_t*)garbage, &image, &error), &error,
               ZS_ERR_INVALID_ARGUMENT, "width");
  error = NULL;
  expect_error(zs_image_from_file(NULL, &image, &error), &error, ZS_ERR_INVALID_ARGUMENT, "NULL");

  zs_model_params params = zs_model_params_defaults();
  params.repo = "/nonexistent/model-folder";
  zs_model* other = NULL;
  error = NULL;
  expect_error(zs_model_open(&params, &other, &error), &error, ZS_ERR_MODEL_NOT_FOUND, NULL);
  CHECK(other == NULL);
  params = zs_model_params_defaults();
  params.repo = model_dir;
  params.precision = 7;
  error = NULL;
  expect_error(zs_model_open(&params, &other, &error), &error, ZS_ERR_INVALID_ARGUMENT,
               "precision");

  zs_image* ok = load("small_100x80.png");
  zs_score scores[2];
  size_t n = 5;
  error = NULL;
  expect_error(zs_classify(model, ok, NULL, 0, NULL, scores, &n, &error), &error,
               ZS_ERR_INVALID_ARGUMENT, NULL);
  CHECK(n == 0);
  const char* labels[2] = {"a dog", "a cat"};
  zs_classify_params bad = zs_classify_params_defaults();
  bad.prompt_template = "no placeholder";
  error = NULL;
  expect_error(zs_classify(model, ok, labels, 2, &bad, scores, &n, &error), &error,
               ZS_ERR_INVALID_ARGUMENT, "{label}");
  error = NULL;
  expect_error(zs_classify(model, NULL, labels, 2, NULL, scores, &n, &error), &error,
               ZS_ERR_INVALID_ARGUMENT, NULL);
  /* a label set of another model is refused */
  zs_model* second = open_fixture();
  zs_label_set* set = NULL;
  CHECK_OK(zs_label_set_prepare(second, labels, 2, NULL, &set, NULL));
  error = NULL;
  expect_error(zs_classify_label_set(model, ok, set, 0, scores, &n, &error), &error,
               ZS_ERR_INVALID_ARGUMENT, NULL);
  zs_label_set_free(set);
  zs_model_free(second);
  zs_image_free(ok);
  /* freeing NULL is a no-op */
  zs_model_free(NULL);
  zs_image_free(NULL);
  zs_label_set_free(NULL);
  zs_error_free(NULL);
}

static void test_shared_model(void) {
  zs_model_params params = zs_model_params_defaults();
  params.repo = model_dir;
  zs_model *a = NULL, *b = NULL;
  CHECK_OK(zs_model_open_shared(&params, &a, NULL));
  CHECK_OK(zs_model_open_shared(&params, &b, NULL));
  if (!a || !b) return;
  const char* texts[1] = {"a shared label"};
  float e[24];
  uint64_t hits0 = 0, misses0 = 0, hits1 = 0, misses1 = 0;
  CHECK_OK(zs_embed_texts(a, texts, 1, e, NULL));
  zs_model_text_cache_stats(b, &hits0, &misses0);
  CHECK_OK(zs_embed_texts(b, texts, 1, e, NULL));
  zs_model_text_cache_stats(a, &hits1, &misses1);
  /* the second handle hit the text the first one embedded: one model behind both */
  CHECK(hits1 == hits0 + 1 && misses1 == misses0);
  zs_model_free(a);
  zs_model_free(b);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FIXTURES_DIR ZEROSHOT_CLI\n", argv[0]);
    return 2;
  }
  fixtures = argv[1];
  cli = argv[2];
  snprintf(model_dir, sizeof model_dir, "%s/models/tiny-clip", fixtures);
  test_version_and_defaults();
  zs_model* model = open_fixture();
  check_classify(model, "scene_640x480.png", 0);
  check_classify(model, "odd_225x301.png", 1);
  test_image_sources(model);
  test_similarity_and_embeddings(model);
  test_errors(model);
  test_shared_model();
  zs_model_free(model);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_api: all checks passed\n");
  return 0;
}
