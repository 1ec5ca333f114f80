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
ClassifyInput read_classify_input(const httplib::Request& request, const ServeOptions& limits);

// POST /v1/similarity: exactly two images.
ClassifyInput read_similarity_input(const httplib::Request& request);

// One /v1/embeddings input: a text, or an image (bytes or per-item error).
struct EmbeddingInput {
  std::optional<std::string> text;
  ImageInput image;
};
struct EmbeddingsInput {
  std::string model;
  std::vector<EmbeddingInput> inputs;
};
EmbeddingsInput read_embeddings_input(const httplib::Request& request, const ServeOptions& limits);

}  // namespace zeroshot::server
