// Options of `zeroshot serve`, with their defaults (cli/serve.cc maps the flags onto them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace zeroshot::server {

struct ServeOptions {
  // Models served; the first is the default of requests that name none.
  std::vector<std::string> repos;
  std::string revision = "main";
  // An index file (zeroshot index) of the first model's vectors: adds /v1/search, /v1/index and
  // /v1/image (thumbnails of indexed files only). "" = none.
  std::string db;
  bool ann = false;  // approximate search (an HNSW graph built at start) for /v1/search
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                 // 0 = any free port (logged)
  // The bearer API key: read from this file, else from ZEROSHOT_API_KEY; none = no auth.
  std::string api_key_file;
  int threads = 0;  // per model pass; 0 = all cores

  // Dynamic batching: up to max_batch images per vision-tower pass, waiting at most max_delay_ms
  // after the first queued image for others to join it.
  std::size_t max_batch = 8;
  int max_delay_ms = 5;

  // Limits (each refused with its own status and error code, docs/ERRORS.md "HTTP service").
  std::size_t max_body_bytes = 32u << 20;  // 413 payload_too_large
  std::uint64_t max_pixels = 40'000'000;   // per image: an image_too_large item error
  std::size_t max_images = 64;             // per request: 422 limit_exceeded
  std::size_t max_labels = 1024;           // per request: 422 limit_exceeded
  std::size_t max_inputs = 256;            // /v1/embeddings inputs: 422 limit_exceeded
  std::size_t max_queue = 256;             // images waiting for a model pass: 429
  int timeout_ms = 30'000;                 // per request: 504 timeout
  std::size_t decode_threads = 2;          // images decoded at once, outside model passes
  bool fast_decode = false;                // --decode fast: JPEG and WebP reduced for each model
  std::size_t http_threads = 128;          // connections served at once (keep-alive)
};

// Runs the service until SIGTERM or SIGINT, then drains: stops accepting, answers every request
// already accepted, and returns 0. Throws zeroshot::Error when the port cannot be bound, the API
// key file cannot be read or a model cannot be loaded (after stopping the server).
int serve(const ServeOptions& options);

}  // namespace zeroshot::server
