// The HTTP routes of `zeroshot serve` and what they share: the models with their batchers, the
// decoder (zeroshot::DecodeAhead: a bounded pool of decode threads), the limits, the API key and
// the metrics. Routes answer the JSON contract of docs/SERVING.md; every error is {"error":
// {"code", "message"}}.
#pragma once

#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "batcher.h"
#include "metrics.h"
#include "options.h"
#include "zeroshot/decode_ahead.h"
#include "zeroshot/index.h"
#include "zeroshot/model.h"

namespace zeroshot::server {

class Service {
 public:
  Service(ServeOptions options, std::string api_key);
  ~Service();

  // Registers the routes, auth, error bodies and the request log on `http`.
  void install(httplib::Server& http);
  // Loads every model and runs one warm-up pass through each; /health/ready answers 200 after.
  // Throws what Model::load throws (the server then stops: a model that cannot load will not).
  void load();
  bool ready() const { return ready_; }
  // Draining: queued images run at once instead of waiting for company.
  void drain();

 private:
  struct Served {
    std::string repo;
    Model model;
    std::unique_ptr<Batcher> batcher;
    DecodeOptions decode;  // --decode and --max-pixels for this model's images
  };
  const Served& served(const std::string& repo) const;
  void classify(const httplib::Request& request, const httplib::ContentReader& reader,
                httplib::Response& response, bool best_only);
  void similarity(const httplib::Request& request, const httplib::ContentReader& reader,
                  httplib::Response& response);
  void embeddings(const httplib::Request& request, const httplib::ContentReader& reader,
                  httplib::Response& response);
  void models(httplib::Response& response) const;
  void search(const httplib::Request& request, const httplib::ContentReader& reader,
              httplib::Response& response);
  void index_info(httplib::Response& response);
  void image(const httplib::Request& request, httplib::Response& response);
  // The index of --db (503 while loading, 404 without --db).
  Index& index();

  ServeOptions options_;
  std::string api_key_;  // "" = no auth; never logged
  Metrics metrics_;
  // At most --decode-threads images decode at once, whatever the number of clients; more than
  // --max-queue waiting are refused (429).
  DecodeAhead decoder_;
  std::vector<Served> served_;  // filled by load(), read only once ready_
  // --db's index, opened by load() with the first model. An Index is one database connection:
  // one request at a time uses it (searches are one matrix product: short).
  std::optional<Index> index_;
  std::mutex index_mutex_;
  std::atomic<bool> ready_ = false;
};

}  // namespace zeroshot::server
