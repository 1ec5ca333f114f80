// Request bodies -> what to run: the images (bytes, or why an item is unusable), labels and
// options, from any of the three transports (JSON with base64 images, multipart/form-data, a raw
// image body with the labels in the query). Throws HttpError for a request that cannot be read.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "options.h"
#include "zeroshot/model.h"

namespace zeroshot::server {

// A request's body, read under the size limit (read_body): its bytes, or for multipart/form-data
// its parts as (name, content), in order.
struct RequestBody {
  std::string bytes;
  std::vector<std::pair<std::string, std::string>> parts;
};

// Reads the body through cpp-httplib's content reader, so that the limit holds for chunked
// bodies too (its own limit checks Content-Length only). Throws HttpError 413 past `max_bytes`.
RequestBody read_body(const httplib::Request& request, const httplib::ContentReader& reader,
                      std::size_t max_bytes);

// One image slot: its bytes, or the per-item error that replaces its result.
struct ImageInput {
  std::string bytes;
  std::optional<nlohmann::json> error;  // {"code", "message"}
};

struct ClassifyInput {
  std::string model;  // "" = the default model
  std::vector<ImageInput> images;
  std::vector<std::string> labels;
  ClassifyOptions options;
  bool raw = false;  // add each label's logit and cosine
};

// POST /v1/classify and /v1/label. Checks the counts against the limits (422).
ClassifyInput read_classify_input(const httplib::Request& request, const RequestBody& body,
                                  const ServeOptions& limits);

// POST /v1/similarity: exactly two images.
ClassifyInput read_similarity_input(const httplib::Request& request, const RequestBody& body);

// One /v1/embeddings input: a text, or an image (bytes or per-item error).
struct EmbeddingInput {
  std::optional<std::string> text;
  ImageInput image;
};
struct EmbeddingsInput {
  std::string model;
  std::vector<EmbeddingInput> inputs;
};
EmbeddingsInput read_embeddings_input(const httplib::Request& request, const RequestBody& body,
                                      const ServeOptions& limits);

// POST /v1/search: one query (a text, an image or an embedding) and how many hits to return.
struct SearchInput {
  std::optional<std::string> text;
  std::optional<ImageInput> image;
  std::optional<std::vector<float>> embedding;
  std::size_t top_k = 10;   // 0 = every image
  float min_score = -1.0f;  // hits below it are left out
  bool exact = false;       // exact search even where the server searches approximately (--ann)
};
SearchInput read_search_input(const httplib::Request& request, const RequestBody& body);

}  // namespace zeroshot::server
