// zeroshot serve: the HTTP service (server/, docs/SERVING.md); this file maps its flags only.
#include <memory>

#include "common.h"
#include "server/options.h"

namespace zeroshot::cli {

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<server::ServeOptions>();
  auto* command = app.add_subcommand(
      "serve",
      "HTTP API (classify, label, similarity, embeddings; search with --db) with a web page at /");
  command
      ->add_option("--repo", options->repos,
                   "Model to serve (repeat for several; the first is the default): a local "
                   "folder in the Hugging Face CLIP layout or a hub repo id (default " +
                       std::string(kDefaultRepo) + ")")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command->add_option("--revision", options->revision, "Branch, tag or commit of hub repos")
      ->capture_default_str();
  command->add_option("--db", options->db,
                      "Index file (zeroshot index) to search: adds POST /v1/search, GET /v1/index, "
                      "GET /v1/image and the page's Search tab; --repo defaults to its model");
  command->add_flag("--ann", options->ann,
                    "With --db: approximate search (an HNSW graph over the index's vectors, built "
                    "before /health/ready; for large collections; a request's \"exact\": true "
                    "searches exactly)");
  command->add_option("--host", options->host, "Address to listen on (0.0.0.0: every interface)")
      ->capture_default_str();
  command->add_option("--port", options->port, "Port to listen on (0: any free port, logged)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  command->add_option("--api-key-file", options->api_key_file,
                      "File holding the API key clients must send as 'Authorization: Bearer "
                      "KEY' (else ZEROSHOT_API_KEY; neither: no auth)");
  command->add_option("--threads", options->threads, "Threads per model pass (0 = all cores)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->add_option("--max-batch", options->max_batch, "Images per vision-tower pass")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  command
      ->add_option("--max-delay-ms", options->max_delay_ms,
                   "How long the first queued image waits for others to join its batch")
      ->check(CLI::Range(0, 10'000))
      ->capture_default_str();
  // The limits: positive numbers, their defaults shown in --help.
  const auto limit = [command](const char* name, auto& value, const char* help) {
    command->add_option(name, value, help)->check(CLI::PositiveNumber)->capture_default_str();
  };
  limit("--max-body-bytes", options->max_body_bytes, "Largest request body (larger: 413)");
  limit("--max-pixels", options->max_pixels,
        "Largest image, in pixels declared by its header (larger: an image_too_large error in "
        "its result slot)");
  limit("--max-images", options->max_images, "Images per request (more: 422)");
  limit("--max-labels", options->max_labels, "Labels per request (more: 422)");
  limit("--max-inputs", options->max_inputs, "/v1/embeddings inputs per request (more: 422)");
  limit("--max-queue", options->max_queue,
        "Images waiting to be decoded, and for the model (more: 429 with Retry-After)");
  limit("--timeout-ms", options->timeout_ms, "Per-request time limit (over: 504)");
  limit("--decode-threads", options->decode_threads, "Images decoded at once");
  command
      ->add_option_function<std::string>(
          "--decode", [options](const std::string& mode) { options->fast_decode = mode == "fast"; },
          "exact (Hugging Face's pixels exactly) or fast (JPEG and WebP decoded at 1/2, 1/4 or 1/8 "
          "while at least twice each model's input size: camera photos several times faster, "
          "embeddings within cosine 0.9999)")
      ->check(CLI::IsMember({"exact", "fast"}))
      ->default_str("exact");
  limit("--http-threads", options->http_threads,
        "Connections served at once (each keep-alive client holds one)");
  command->footer(R"zs(Examples:
  zeroshot serve                                   # openai/clip-vit-base-patch32 on 127.0.0.1:8080
  zeroshot serve --repo ./my-clip --host 0.0.0.0 --port 9000 --api-key-file key.txt
  curl -s localhost:8080/v1/classify -H 'Content-Type: application/json' \
       -d '{"images": ["'"$(base64 -w0 dog.jpg)"'"], "labels": ["a dog", "a cat"]}'
  curl -s localhost:8080/v1/classify -F image=@dog.jpg -F label=dog -F label=cat
  curl -s 'localhost:8080/v1/classify?label=dog&label=cat' -H 'Content-Type: image/jpeg' \
       --data-binary @dog.jpg
  zeroshot serve --db photos.db                    # the index's model, plus search
  curl -s localhost:8080/v1/search -H 'Content-Type: application/json' \
       -d '{"text": "a photo of a dog on a beach", "top_k": 5}'
Open http://127.0.0.1:8080/ for the web page. /health/ready answers 503 until the models are
loaded and warmed up; SIGTERM drains (answers every accepted request) and exits 0. One JSON log
line per request on stderr. Routes, limits and errors: docs/SERVING.md.)zs");
  command->callback([options, command] {
    auto run = *options;
    if (!run.db.empty() && run.repos.empty()) {
      // The model the index was built with (a missing or foreign file fails here, unchanged).
      const IndexInfo info = Index::read_info(run.db);
      if (!info.repo.empty()) {
        run.repos.push_back(info.repo);
        if (command->count("--revision") == 0) run.revision = info.revision;
      }
    }
    if (run.repos.empty()) run.repos.push_back(std::string(kDefaultRepo));
    const int status = server::serve(run);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace zeroshot::cli
