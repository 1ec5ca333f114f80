#include "service.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "auth.h"
#include "client_socket.h"
#include "http_error.h"
#include "inputs.h"
#include "log.h"
#include "web_page.h"

namespace zeroshot::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::set<std::string> kRoutes = {
    "/",         "/health/live",   "/health/ready",  "/metrics",   "/v1/models", "/v1/classify",
    "/v1/label", "/v1/similarity", "/v1/embeddings", "/v1/search", "/v1/index",  "/v1/image"};

// What the request log line needs from the handler. A handler runs on the thread that read its
// request and then writes its response and log line, so a thread_local carries it.
struct RequestContext {
  Clock::time_point start = Clock::now();
  std::set<std::uint64_t> batches;  // model passes the request's images joined
};
thread_local RequestContext t_context;

void send_json(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& response, int status, const std::string& code,
                const std::string& message) {
  send_json(response, status, {{"error", error_object(code, message)}});
}

// Runs a route, turning every exception into its error response.
template <typename Route>
void guarded(httplib::Response& response, Route&& route) {
  try {
    route();
  } catch (const HttpError& e) {
    if (e.retry_after_s() > 0)
      response.set_header("Retry-After", std::to_string(e.retry_after_s()));
    // The rest of an over-long body is never read: the connection cannot carry another request.
    if (e.status() == 413) response.set_header("Connection", "close");
    send_error(response, e.status(), e.code(), e.what());
  } catch (const Error& e) {
    send_json(response, status_of(e), {{"error", error_object(e)}});
  } catch (const std::exception& e) {
    send_error(response, 500, "internal", e.what());
  } catch (...) {
    send_error(response, 500, "internal", "an exception that is not a std::exception");
  }
}

// Waits for `future` until the request's deadline: 504 after it.
template <typename T>
T wait(std::future<T>& future, Clock::time_point deadline, int timeout_ms) {
  if (future.wait_until(deadline) != std::future_status::ready) {
    throw HttpError(
        504, "timeout",
        "the request took longer than the server's limit of " + std::to_string(timeout_ms) + " ms");
  }
  return future.get();
}

// One request's images, decoded by the shared decoder and embedded by the model's batcher: an
// embedding per slot, or the slot's error.
struct Slots {
  std::vector<std::optional<std::vector<float>>> embeddings;
  std::vector<std::optional<json>> errors;
};

Slots embed_slots(const std::vector<ImageInput>& images, DecodeAhead& decoder,
                  const DecodeOptions& decode, Batcher& batcher, std::size_t max_waiting,
                  const std::function<bool()>& client_gone, Clock::time_point deadline,
                  int timeout_ms) {
  Slots slots;
  slots.embeddings.resize(images.size());
  slots.errors.resize(images.size());
  std::vector<ImageSource> bytes;
  std::vector<std::size_t> decoding;  // slot of each decode
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (images[i].error) {
      slots.errors[i] = images[i].error;
    } else {
      bytes.push_back(ImageSource::bytes(images[i].bytes));
      decoding.push_back(i);
    }
  }
  // All of a request's images queue or none: a full queue refuses the request.
  auto submitted = decoder.submit(std::move(bytes), decode);
  if (!submitted) {
    throw HttpError(429, "queue_full",
                    "the server is busy: " + std::to_string(decoder.waiting()) +
                        " images are waiting to be decoded (limit " + std::to_string(max_waiting) +
                        "); retry later",
                    1);
  }
  auto& decodes = *submitted;
  std::vector<Image> decoded;
  std::vector<std::size_t> embedding;  // slot of each decoded image
  for (std::size_t d = 0; d < decodes.size(); ++d) {
    try {
      decoded.push_back(wait(decodes[d], deadline, timeout_ms));
      embedding.push_back(decoding[d]);
    } catch (const Error& e) {
      slots.errors[decoding[d]] = error_object(e);
    }
  }
  if (decoded.empty()) return slots;
  auto passes = batcher.submit(std::move(decoded), [deadline, client_gone] {
    return Clock::now() > deadline || client_gone();
  });
  for (std::size_t e = 0; e < passes.size(); ++e) {
    Embedded result = wait(passes[e], deadline, timeout_ms);
    t_context.batches.insert(result.batch);
    slots.embeddings[embedding[e]] = std::move(result.embedding);
  }
  return slots;
}

// The Content-Type of an image file, from its extension (the formats has_image_extension takes).
std::string image_type(const std::string& path) {
  std::string ext = path.substr(path.find_last_of("./") + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::string> kTypes = {
      {"jpg", "image/jpeg"},  {"jpeg", "image/jpeg"}, {"png", "image/png"},  {"gif", "image/gif"},
      {"webp", "image/webp"}, {"bmp", "image/bmp"},   {"tif", "image/tiff"}, {"tiff", "image/tiff"},
      {"avif", "image/avif"}, {"heic", "image/heic"}};
  const auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace

Service::Service(ServeOptions options, std::string api_key)
    : options_(std::move(options)),
      api_key_(std::move(api_key)),
      decoder_({.threads = options_.decode_threads,
                .max_waiting = options_.max_queue,
                .decode = DecodeOptions{.max_pixels = options_.max_pixels},
                .on_decoded = [this](double seconds) { metrics_.decode(seconds); }}) {}

Service::~Service() = default;

void Service::load() {
  std::vector<Served> served;
  for (const auto& repo : options_.repos) {
    auto model =
        Model::load({.repo = repo, .revision = options_.revision, .threads = options_.threads});
    // Warm-up: one pass through each tower, so that the first client pays no one-time costs.
    const std::vector<std::uint8_t> grey(64 * 64 * 3, 128);
    const std::vector<std::string> labels = {"warm-up"};
    model.classify(Image::from_rgb(64, 64, grey), labels);
    Batcher::Limits limits{options_.max_batch, std::chrono::milliseconds(options_.max_delay_ms),
                           options_.max_queue};
    served.push_back(
        {repo, model, std::make_unique<Batcher>(model, limits, metrics_),
         model.decode_options(options_.fast_decode ? DecodeMode::kFast : DecodeMode::kExact,
                              options_.max_pixels)});
  }
  if (!options_.db.empty()) {
    // The first model's vectors (another model's are refused with how to rebuild). contains()
    // loads them now, so that the first search pays nothing.
    index_.emplace(Index::open(options_.db, served.front().model, IndexMode::kRead,
                               {options_.repos.front(), options_.revision}));
    index_->contains("");
    if (options_.ann) {
      // The HNSW graph is built by the first approximate search: now, not in a client's request.
      const std::vector<float> probe(static_cast<std::size_t>(index_->info().dim), 0.0f);
      index_->search(probe, {.top_k = 1, .approximate = true});
    }
    log_line({{"event", "index"}, {"images", index_->info().vectors}});
  }
  served_ = std::move(served);
  // The line first: whoever sees /health/ready answer 200 can also find it in the log.
  log_line({{"event", "ready"}, {"models", options_.repos}});
  ready_ = true;
}

void Service::drain() {
  if (!ready_) return;
  for (const auto& s : served_) s.batcher->flush();
}

const Service::Served& Service::served(const std::string& repo) const {
  if (!ready_) {
    throw HttpError(503, "not_ready", "the model is still loading; retry when /health/ready is 200",
                    1);
  }
  if (repo.empty()) return served_.front();
  for (const auto& s : served_)
    if (s.repo == repo) return s;
  throw HttpError(404, "model_not_found",
                  "model '" + repo + "' is not served here; GET /v1/models lists the models");
}

void Service::classify(const httplib::Request& request, const httplib::ContentReader& reader,
                       httplib::Response& response, bool best_only) {
  const auto deadline = t_context.start + std::chrono::milliseconds(options_.timeout_ms);
  const ClassifyInput input =
      read_classify_input(request, read_body(request, reader, options_.max_body_bytes), options_);
  const Served& s = served(input.model);
  // The labels first, before any image work: a bad label or template fails the request; every
  // image is then scored against the prepared set.
  std::optional<LabelSet> labels;
  try {
    labels = s.model.prepare_labels(input.labels, input.options);
  } catch (const Error& e) {
    throw http_error(e);  // 400 for what the caller sent, 500 for a failure of the server's
  }
  const Slots slots = embed_slots(input.images, decoder_, s.decode, *s.batcher, options_.max_queue,
                                  client_gone_probe(request), deadline, options_.timeout_ms);
  json results = json::array();
  for (std::size_t i = 0; i < input.images.size(); ++i) {
    if (slots.errors[i]) {
      results.push_back({{"error", *slots.errors[i]}});
      continue;
    }
    const auto scores =
        s.model.classify_embedding(*slots.embeddings[i], *labels, input.options.top_k);
    if (best_only) {
      results.push_back({{"label", scores.front().label}});
    } else {
      json list = json::array();
      for (const auto& score : scores) list.push_back(common::score_json(score, input.raw));
      results.push_back({{"scores", std::move(list)}});
    }
  }
  send_json(response, 200, {{"model", s.repo}, {"results", std::move(results)}});
}

void Service::similarity(const httplib::Request& request, const httplib::ContentReader& reader,
                         httplib::Response& response) {
  const auto deadline = t_context.start + std::chrono::milliseconds(options_.timeout_ms);
  const ClassifyInput input =
      read_similarity_input(request, read_body(request, reader, options_.max_body_bytes));
  const Served& s = served(input.model);
  const Slots slots = embed_slots(input.images, decoder_, s.decode, *s.batcher, options_.max_queue,
                                  client_gone_probe(request), deadline, options_.timeout_ms);
  for (std::size_t i = 0; i < 2; ++i) {
    if (slots.errors[i]) {
      json error = *slots.errors[i];
      error["message"] = "image " + std::to_string(i) + ": " + error["message"].get<std::string>();
      send_json(response, 400, {{"error", error}});
      return;
    }
  }
  // As Model::similarity: the cosine of the two L2-normalised embeddings (zeroshot::cosine).
  send_json(
      response, 200,
      {{"model", s.repo}, {"similarity", cosine(*slots.embeddings[0], *slots.embeddings[1])}});
}

void Service::embeddings(const httplib::Request& request, const httplib::ContentReader& reader,
                         httplib::Response& response) {
  const auto deadline = t_context.start + std::chrono::milliseconds(options_.timeout_ms);
  const EmbeddingsInput input =
      read_embeddings_input(request, read_body(request, reader, options_.max_body_bytes), options_);
  const Served& s = served(input.model);
  std::vector<std::string> texts;
  std::vector<ImageInput> images;
  std::size_t tokens = 0;
  for (const auto& item : input.inputs) {
    if (item.text) {
      texts.push_back(*item.text);
      try {
        tokens += s.model.tokenize(*item.text).size();
      } catch (const Error& e) {
        throw http_error(e, "input " + std::to_string(texts.size() - 1) + ": ");
      }
    } else {
      images.push_back(item.image);
    }
  }
  const auto text_embeddings = s.model.embed_texts(texts);
  const Slots slots = embed_slots(images, decoder_, s.decode, *s.batcher, options_.max_queue,
                                  client_gone_probe(request), deadline, options_.timeout_ms);
  json data = json::array();
  std::size_t next_text = 0;
  std::size_t next_image = 0;
  for (std::size_t i = 0; i < input.inputs.size(); ++i) {
    json item = {{"object", "embedding"}, {"index", i}};
    if (input.inputs[i].text) {
      item["embedding"] = text_embeddings[next_text++];
    } else if (const auto& error = slots.errors[next_image]; error) {
      item["error"] = *error;
      ++next_image;
    } else {
      item["embedding"] = *slots.embeddings[next_image++];
    }
    data.push_back(std::move(item));
  }
  send_json(response, 200,
            {{"object", "list"},
             {"data", std::move(data)},
             {"model", s.repo},
             {"usage",
              {{"prompt_tokens", tokens}, {"total_tokens", tokens}, {"images", images.size()}}}});
}

void Service::models(httplib::Response& response) const {
  json data = json::array();
  for (std::size_t i = 0; i < options_.repos.size(); ++i) {
    json model = {{"id", options_.repos[i]}, {"object", "model"}, {"ready", ready_.load()}};
    if (ready_) model["embedding_dim"] = served_[i].model.embedding_dim();
    data.push_back(std::move(model));
  }
  send_json(response, 200, {{"object", "list"}, {"data", std::move(data)}});
}

Index& Service::index() {
  if (options_.db.empty()) {
    throw HttpError(404, "no_index",
                    "this server has no index: start it with zeroshot serve --db FILE (an index "
                    "made by zeroshot index)");
  }
  if (!ready_) {
    throw HttpError(503, "not_ready", "the index is still loading; retry when /health/ready is 200",
                    1);
  }
  return *index_;
}

void Service::search(const httplib::Request& request, const httplib::ContentReader& reader,
                     httplib::Response& response) {
  const auto deadline = t_context.start + std::chrono::milliseconds(options_.timeout_ms);
  const SearchInput input =
      read_search_input(request, read_body(request, reader, options_.max_body_bytes));
  Index& idx = index();
  const Served& s = served("");
  std::vector<float> query;
  if (input.text) {
    try {
      query = s.model.embed_text(*input.text);  // verbatim, as zeroshot search
    } catch (const Error& e) {
      throw http_error(e, "text: ");
    }
  } else if (input.image) {
    const Slots slots =
        embed_slots({*input.image}, decoder_, s.decode, *s.batcher, options_.max_queue,
                    client_gone_probe(request), deadline, options_.timeout_ms);
    if (slots.errors[0]) {
      send_json(response, 400, {{"error", *slots.errors[0]}});
      return;
    }
    query = *slots.embeddings[0];
  } else {
    // Any length: scored by the cosine, so the embedding is L2-normalised here.
    query = *input.embedding;
    double norm = 0;
    for (float x : query) norm += static_cast<double>(x) * x;
    if (!(norm > 0) || !std::isfinite(norm))
      throw HttpError(400, "bad_request", "\"embedding\" must be finite and not all zeros");
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : query) x *= scale;
  }
  std::vector<SearchHit> hits;
  {
    std::lock_guard lock(index_mutex_);
    hits = idx.search(query, {.top_k = input.top_k,
                              .min_score = input.min_score,
                              .approximate = options_.ann && !input.exact});
  }
  json list = json::array();
  for (const auto& h : hits) list.push_back({{"path", h.path}, {"score", h.score}});
  send_json(response, 200, {{"model", s.repo}, {"hits", std::move(list)}});
}

void Service::index_info(httplib::Response& response) {
  Index& idx = index();
  IndexInfo info;
  {
    std::lock_guard lock(index_mutex_);
    info = idx.info();
  }
  send_json(response, 200,
            {{"model", options_.repos.front()},
             {"revision", info.revision},
             {"family", info.family},
             {"embedding_dim", info.dim},
             {"count", info.vectors},
             {"failures", info.failures}});
}

void Service::image(const httplib::Request& request, httplib::Response& response) {
  Index& idx = index();
  const std::string path = request.get_param_value("path");
  bool indexed = false;
  if (!path.empty()) {
    std::lock_guard lock(index_mutex_);
    indexed = idx.contains(path);
  }
  // Only the indexed images are served, by the exact path search returned: no other file of the
  // machine can be read through this route.
  if (!indexed) {
    throw HttpError(404, "not_found",
                    "no indexed image has the path '" + path +
                        "' (give ?path= exactly as /v1/search returned it)");
  }
  struct stat st {};
  std::ifstream in;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) in.open(path, std::ios::binary);
  if (!in.is_open()) {
    throw HttpError(410, "gone",
                    "the indexed file " + path +
                        " cannot be read any more (moved or deleted: rerun zeroshot index)");
  }
  std::string bytes(std::istreambuf_iterator<char>(in), {});
  response.set_header("Cache-Control", "private, max-age=300");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_content(std::move(bytes), image_type(path));
}

void Service::install(httplib::Server& http) {
  // Auth before routing: every route but the health checks and the page needs the key.
  http.set_pre_routing_handler([this](const httplib::Request& request,
                                      httplib::Response& response) {
    t_context = RequestContext{};
    const bool open = request.path == "/" || request.path.rfind("/health/", 0) == 0;
    if (open || api_key_.empty() || authorized(request.get_header_value("Authorization"), api_key_))
      return httplib::Server::HandlerResponse::Unhandled;
    response.set_header("WWW-Authenticate", "Bearer");
    send_error(response, 401, "unauthorized",
               "missing or wrong API key: send the header 'Authorization: Bearer <key>'");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors cpp-httplib raises itself (no route, body over the limit, bad request line) get the
  // same JSON body as ours; responses that already have a body keep it.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& request, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (response.status) {
          case 404:
            send_error(response, 404, "not_found",
                       "no route " + request.method + " " + request.path);
            break;
          case 413:
            send_error(response, 413, "payload_too_large",
                       "the body is larger than the server's limit of " +
                           std::to_string(options_.max_body_bytes) + " bytes");
            break;
          default:
            send_error(response, response.status, "bad_request", "the HTTP request is malformed");
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  // One JSON line per request; never a header (the API key is one).
  http.set_logger([this](const httplib::Request& request, const httplib::Response& response) {
    const double seconds = std::chrono::duration<double>(Clock::now() - t_context.start).count();
    const std::string route = kRoutes.count(request.path) ? request.path : "other";
    metrics_.request(route, response.status, seconds);
    // Refusals of API requests by reason (a health check's 503 is no refusal).
    static const std::map<int, std::string> kReasons = {
        {401, "unauthorized"}, {413, "payload_too_large"}, {422, "limit_exceeded"},
        {429, "queue_full"},   {503, "not_ready"},         {504, "timeout"}};
    if (const auto reason = kReasons.find(response.status);
        reason != kReasons.end() && request.path.rfind("/v1/", 0) == 0)
      metrics_.rejected(reason->second);
    log_line({{"method", request.method},
              {"route", route},
              {"status", response.status},
              {"ms", std::round(seconds * 1e4) / 10},
              {"batches", t_context.batches}});
    t_context = RequestContext{};
  });

  http.Get("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(std::string(kWebPage), "text/html; charset=utf-8");
  });
  http.Get("/health/live", [](const httplib::Request&, httplib::Response& response) {
    send_json(response, 200, {{"status", "live"}});
  });
  http.Get("/health/ready", [this](const httplib::Request&, httplib::Response& response) {
    if (ready_)
      send_json(response, 200, {{"status", "ready"}});
    else
      send_error(response, 503, "not_ready", "the model is still loading");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    std::vector<ModelGauges> gauges;
    if (ready_) {
      for (const auto& s : served_) {
        const auto stats = s.model.text_cache_stats();
        gauges.push_back({s.repo, s.batcher->depth(), stats.hits, stats.misses, stats.entries});
      }
    }
    response.set_content(metrics_.prometheus(gauges, ready_), "text/plain; version=0.0.4");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& response) {
    guarded(response, [&] { models(response); });
  });
  http.Get("/v1/index", [this](const httplib::Request&, httplib::Response& response) {
    guarded(response, [&] { index_info(response); });
  });
  http.Get("/v1/image", [this](const httplib::Request& request, httplib::Response& response) {
    guarded(response, [&] { image(request, response); });
  });
  // Bodies are read by the routes themselves (read_body), under --max-body-bytes.
  using Reader = httplib::ContentReader;
  http.Post("/v1/classify", [this](const httplib::Request& request, httplib::Response& response,
                                   const Reader& reader) {
    guarded(response, [&] { classify(request, reader, response, /*best_only=*/false); });
  });
  http.Post("/v1/label", [this](const httplib::Request& request, httplib::Response& response,
                                const Reader& reader) {
    guarded(response, [&] { classify(request, reader, response, /*best_only=*/true); });
  });
  http.Post("/v1/similarity", [this](const httplib::Request& request, httplib::Response& response,
                                     const Reader& reader) {
    guarded(response, [&] { similarity(request, reader, response); });
  });
  http.Post("/v1/search", [this](const httplib::Request& request, httplib::Response& response,
                                 const Reader& reader) {
    guarded(response, [&] { search(request, reader, response); });
  });
  http.Post("/v1/embeddings", [this](const httplib::Request& request, httplib::Response& response,
                                     const Reader& reader) {
    guarded(response, [&] { embeddings(request, reader, response); });
  });
}

}  // namespace zeroshot::server
