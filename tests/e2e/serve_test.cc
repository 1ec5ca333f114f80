// `zeroshot serve` end to end: the real server on a loopback port, called over HTTP with every
// transport, against the library's own results for the fixture images (tests/fixtures).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "e2e/serve_process.h"
#include "support/base64.h"
#include "support/fake_hub.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot::testing {
namespace {

using nlohmann::json;

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";
const std::vector<std::string> kFixtures = {"scene_640x480_q92.jpg", "small_100x80.png",
                                            "rgba_transparency_300x200.png",
                                            "exif_orientation6_320x240.jpg", "scene_150x110.bmp"};
const std::vector<std::string> kLabels = {"a dog", "a cat", "a red car", "a tree"};

using testing::base64;

json parse(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no response";
  if (!r) return json();
  return json::parse(r->body, nullptr, false);
}

// Asserts one result slot holds `expected` (same labels in the same order, scores to 1e-6).
void expect_scores(const json& slot, const std::vector<LabelScore>& expected, bool raw = false) {
  ASSERT_TRUE(slot.contains("scores")) << slot.dump();
  const auto& scores = slot["scores"];
  ASSERT_EQ(scores.size(), expected.size()) << slot.dump();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(scores[i]["label"], expected[i].label);
    EXPECT_NEAR(scores[i]["score"].get<double>(), expected[i].score, 1e-6);
    EXPECT_EQ(scores[i].contains("logit"), raw);
    if (raw) {
      EXPECT_NEAR(scores[i]["logit"].get<double>(), expected[i].logit, 1e-4);
      EXPECT_NEAR(scores[i]["cosine"].get<double>(), expected[i].cosine, 1e-6);
    }
  }
}

void expect_error(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, status) << r->body;
  const json body = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(body.contains("error")) << r->body;
  EXPECT_EQ(body["error"]["code"], code) << r->body;
  EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
}

// A TCP connection to the server on 127.0.0.1, for requests the HTTP client will not send.
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(Model::load({.repo = kModel}));
    server_ = new ServeProcess({"--repo", kModel, "--max-pixels", "1000000", "--max-images", "8",
                                "--max-labels", "16", "--max-queue", "20"});
    ASSERT_TRUE(server_->wait_ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete model_;
  }
  static Model* model_;
  static ServeProcess* server_;
};
Model* ServeTest::model_ = nullptr;
ServeProcess* ServeTest::server_ = nullptr;

TEST_F(ServeTest, ClassifyJsonMatchesTheLibraryForEveryFixture) {
  json body = {{"labels", kLabels}, {"images", json::array()}};
  for (const auto& name : kFixtures) body["images"].push_back(base64(read_binary(kImages + name)));
  auto r = server_->client().Post("/v1/classify", body.dump(), "application/json");
  const json out = parse(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(out["model"], kModel);
  ASSERT_EQ(out["results"].size(), kFixtures.size());
  for (std::size_t i = 0; i < kFixtures.size(); ++i) {
    SCOPED_TRACE(kFixtures[i]);
    expect_scores(out["results"][i],
                  model_->classify(Image::from_file(kImages + kFixtures[i]), kLabels));
  }
}

TEST_F(ServeTest, DataUrlsTemplatesTopKAndRaw) {
  const std::string image = kImages + "scene_640x480_q92.jpg";
  const json body = {{"images", {"data:image/jpeg;base64," + base64(read_binary(image))}},
                     {"labels", kLabels},
                     {"template", nullptr},
                     {"top_k", 2},
                     {"raw", true}};
  auto r = server_->client().Post("/v1/classify", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  expect_scores(parse(r)["results"][0],
                model_->classify(Image::from_file(image), kLabels,
                                 {.prompt_template = std::nullopt, .top_k = 2}),
                /*raw=*/true);
  const json custom = {{"images", {base64(read_binary(image))}},
                       {"labels", kLabels},
                       {"template", "a blurry photo of {label}"}};
  r = server_->client().Post("/v1/classify", custom.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  expect_scores(parse(r)["results"][0],
                model_->classify(Image::from_file(image), kLabels,
                                 {.prompt_template = "a blurry photo of {label}"}));
}

TEST_F(ServeTest, ClassifyMultipartAndRawBodyMatchTheLibrary) {
  const std::string a = kImages + "small_100x80.png";
  const std::string b = kImages + "scene_180x140.tiff";
  httplib::MultipartFormDataItems items = {{"image", read_binary(a), "a.png", "image/png"},
                                           {"image", read_binary(b), "b.tiff", "image/tiff"},
                                           {"label", "a dog", "", ""},
                                           {"label", "a cat", "", ""},
                                           {"template", "art of {label}", "", ""},
                                           {"top_k", "1", "", ""}};
  auto r = server_->client().Post("/v1/classify", items);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<std::string> labels = {"a dog", "a cat"};
  const ClassifyOptions options{.prompt_template = "art of {label}", .top_k = 1};
  const json out = parse(r);
  expect_scores(out["results"][0], model_->classify(Image::from_file(a), labels, options));
  expect_scores(out["results"][1], model_->classify(Image::from_file(b), labels, options));

  r = server_->client().Post("/v1/classify?label=a%20dog&label=a%20cat&raw=true", read_binary(a),
                             "image/png");
  ASSERT_EQ(r->status, 200) << r->body;
  expect_scores(parse(r)["results"][0], model_->classify(Image::from_file(a), labels), true);
}

TEST_F(ServeTest, LabelGivesTheBestLabelPerImage) {
  const json body = {{"images",
                      {base64(read_binary(kImages + "scene_640x480.png")),
                       base64(read_binary(kImages + "palette_P_256x256.png"))}},
                     {"labels", kLabels}};
  auto r = server_->client().Post("/v1/label", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json out = parse(r);
  EXPECT_EQ(out["results"][0]["label"],
            model_->label(Image::from_file(kImages + "scene_640x480.png"), kLabels));
  EXPECT_EQ(out["results"][1]["label"],
            model_->label(Image::from_file(kImages + "palette_P_256x256.png"), kLabels));
}

TEST_F(ServeTest, PerItemErrorsKeepTheirSlots) {
  const std::string good = base64(read_binary(kImages + "small_100x80.png"));
  const std::string bomb = base64(read_binary(kImages + "large_1600x1200_q90.jpg"));  // > 1 MP
  const json body = {
      {"images", {"not base64!", good, base64("plain text, not an image"), bomb, 42, good}},
      {"labels", kLabels}};
  auto r = server_->client().Post("/v1/classify", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json results = parse(r)["results"];
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0]["error"]["code"], "invalid_argument");
  EXPECT_EQ(results[2]["error"]["code"], "image_decode");
  EXPECT_EQ(results[3]["error"]["code"], "image_too_large");
  EXPECT_EQ(results[4]["error"]["code"], "invalid_argument");
  const auto expected = model_->classify(Image::from_file(kImages + "small_100x80.png"), kLabels);
  expect_scores(results[1], expected);
  expect_scores(results[5], expected);
}

TEST_F(ServeTest, SimilarityMatchesTheLibrary) {
  const std::string a = kImages + "scene_640x480.png";
  const std::string b = kImages + "scene_640x480_lossy.webp";
  const float expected = model_->similarity(Image::from_file(a), Image::from_file(b));
  const json body = {{"images", {base64(read_binary(a)), base64(read_binary(b))}}};
  auto r = server_->client().Post("/v1/similarity", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NEAR(parse(r)["similarity"].get<double>(), expected, 1e-6);
  httplib::MultipartFormDataItems items = {{"image", read_binary(a), "a.png", "image/png"},
                                           {"image", read_binary(b), "b.webp", "image/webp"}};
  r = server_->client().Post("/v1/similarity", items);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NEAR(parse(r)["similarity"].get<double>(), expected, 1e-6);
  const json one = {{"images", {base64(read_binary(a))}}};
  expect_error(server_->client().Post("/v1/similarity", one.dump(), "application/json"), 400,
               "bad_request");
  const json broken = {{"images", {base64(read_binary(a)), base64("nope")}}};
  expect_error(server_->client().Post("/v1/similarity", broken.dump(), "application/json"), 400,
               "image_decode");
}

TEST_F(ServeTest, EmbeddingsMatchTheLibrary) {
  const std::string image = kImages + "odd_225x301.png";
  const json body = {{"model", kModel},
                     {"input", {"a photo of a dog", {{"image", base64(read_binary(image))}}, ""}}};
  auto r = server_->client().Post("/v1/embeddings", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const json out = parse(r);
  EXPECT_EQ(out["object"], "list");
  EXPECT_EQ(out["model"], kModel);
  ASSERT_EQ(out["data"].size(), 3u);
  const std::vector<std::vector<float>> expected = {model_->embed_text("a photo of a dog"),
                                                    model_->embed_image(Image::from_file(image)),
                                                    model_->embed_text("")};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out["data"][i]["object"], "embedding");
    EXPECT_EQ(out["data"][i]["index"], i);
    const auto got = out["data"][i]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(got.size(), expected[i].size());
    for (std::size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], expected[i][k], 1e-6);
  }
  const std::size_t tokens =
      model_->tokenize("a photo of a dog").size() + model_->tokenize("").size();
  EXPECT_EQ(out["usage"]["prompt_tokens"], tokens);
  EXPECT_EQ(out["usage"]["total_tokens"], tokens);
  const json unknown = {{"model", "no/such-model"}, {"input", "x"}};
  expect_error(server_->client().Post("/v1/embeddings", unknown.dump(), "application/json"), 404,
               "model_not_found");
}

TEST_F(ServeTest, ModelsHealthAndMetrics) {
  auto r = server_->client().Get("/v1/models");
  ASSERT_EQ(r->status, 200);
  const json models = parse(r);
  EXPECT_EQ(models["data"][0]["id"], kModel);
  EXPECT_EQ(models["data"][0]["embedding_dim"], model_->embedding_dim());
  EXPECT_EQ(server_->client().Get("/health/live")->status, 200);
  EXPECT_EQ(server_->client().Get("/health/ready")->status, 200);
  expect_error(server_->client().Get("/no/such/route"), 404, "not_found");
  const json body = {{"images", {base64(read_binary(kImages + "small_100x80.png"))}},
                     {"labels", {"metrics label"}}};
  ASSERT_EQ(server_->client().Post("/v1/classify", body.dump(), "application/json")->status, 200);
  ASSERT_EQ(server_->client().Post("/v1/classify", body.dump(), "application/json")->status, 200);
  const std::string text = server_->client().Get("/metrics")->body;
  for (const char* name : {"zeroshot_requests_total{route=\"/v1/classify\",status=\"200\"}",
                           "zeroshot_request_seconds_bucket{route=\"/v1/classify\",le=\"+Inf\"}",
                           "zeroshot_batch_size_count", "zeroshot_model_seconds_count",
                           "zeroshot_queue_wait_seconds_count", "zeroshot_decode_seconds_count",
                           "zeroshot_queue_depth{model=", "zeroshot_ready 1"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
  // The second call's label came from the text cache.
  const auto sample = text.find("zeroshot_text_cache_hits_total{");
  ASSERT_NE(sample, std::string::npos) << text;
  const auto value = text.find("} ", sample);
  ASSERT_NE(value, std::string::npos) << text;
  EXPECT_GE(std::stoi(text.substr(value + 2)), 1) << text.substr(sample, 80);
  EXPECT_NE(text.find("zeroshot_text_cache_misses_total"), std::string::npos);
  // One JSON log line per request, with the batch its images joined.
  bool logged = false;
  for (const auto& line : server_->log_lines()) {
    if (line.value("route", "") == "/v1/classify" && line["status"] == 200 &&
        !line["batches"].empty() && line.contains("ms") && line["method"] == "POST")
      logged = true;
  }
  EXPECT_TRUE(logged) << server_->log();
}

// Requests and life-cycle events share one log format: every line has its UTC time.
TEST_F(ServeTest, EveryLogLineHasItsTime) {
  ASSERT_EQ(server_->client().Get("/health/live")->status, 200);
  // The request's line is written after its response: wait for it.
  const auto has_request = [](const std::vector<json>& lines) {
    return std::any_of(lines.begin(), lines.end(),
                       [](const json& l) { return l.value("route", "") == "/health/live"; });
  };
  auto lines = server_->log_lines();
  for (int i = 0; i < 500 && !has_request(lines); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    lines = server_->log_lines();
  }
  // ISO 8601 UTC to the second: "2026-11-30T19:40:07Z" (no std::regex: GCC 12 warns in its
  // headers at -O1, which the sanitizer build's -Werror turns into an error).
  const auto iso_utc = [](const std::string& t) {
    const std::string shape = "dddd-dd-ddTdd:dd:ddZ";
    if (t.size() != shape.size()) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (shape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(t[i])) : t[i] != shape[i])
        return false;
    }
    return true;
  };
  std::set<std::string> kinds;
  for (const auto& line : lines) {
    ASSERT_TRUE(line.contains("time") && line["time"].is_string()) << line.dump();
    EXPECT_TRUE(iso_utc(line["time"].get<std::string>())) << line.dump();
    kinds.insert(line.contains("event") ? line["event"].get<std::string>() : "request");
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"listening", "ready", "request"})) << server_->log();
}

// Labels and templates the library refuses fail the request before any image work: 400 with the
// library's code for what the client sent (a server failure would be 500: tests/unit/server);
// the server's own checks give 400 bad_request (none) and 422 limit_exceeded (too many).
TEST_F(ServeTest, LabelErrorsHaveTheirStatus) {
  auto c = server_->client();
  const std::string png = read_binary(kImages + "small_100x80.png");
  const auto multipart = [&](const std::vector<std::string>& labels, const std::string& tmpl) {
    httplib::MultipartFormDataItems items = {{"image", png, "a.png", "image/png"}};
    for (const auto& l : labels) items.push_back({"label", l, "", ""});
    if (!tmpl.empty()) items.push_back({"template", tmpl, "", ""});
    return c.Post("/v1/classify", items);
  };
  // Invalid UTF-8 (JSON cannot carry it: there it is bad JSON), as a form field and in the query.
  auto r = multipart({"a dog", "caf\xc3"}, "");
  expect_error(r, 400, "invalid_argument");
  EXPECT_NE(r->body.find("UTF-8"), std::string::npos) << r->body;
  expect_error(c.Post("/v1/classify?label=a%20dog&label=%FF", png, "image/png"), 400,
               "invalid_argument");
  expect_error(multipart({"a dog"}, "no placeholder"), 400, "invalid_argument");
  expect_error(multipart({"a dog"}, "\xff {label}"), 400, "invalid_argument");
  expect_error(multipart({}, ""), 400, "bad_request");
  expect_error(c.Post("/v1/classify?label=a&top_k=-1", png, "image/png"), 400, "invalid_argument");
  std::vector<std::string> seventeen;
  for (int i = 0; i < 17; ++i) seventeen.push_back("l" + std::to_string(i));
  expect_error(multipart(seventeen, ""), 422, "limit_exceeded");
  // The same labels, valid: 200.
  EXPECT_EQ(multipart({"a dog", "caf\xc3\xa9"}, "")->status, 200);
}

TEST_F(ServeTest, EveryLimitHasItsStatus) {
  auto c = server_->client();
  const std::string image = base64(read_binary(kImages + "small_100x80.png"));
  json too_many_images = {{"images", json::array()}, {"labels", {"a"}}};
  for (int i = 0; i < 9; ++i) too_many_images["images"].push_back(image);
  expect_error(c.Post("/v1/classify", too_many_images.dump(), "application/json"), 422,
               "limit_exceeded");
  json too_many_labels = {{"images", {image}}, {"labels", json::array()}};
  for (int i = 0; i < 17; ++i) too_many_labels["labels"].push_back("l" + std::to_string(i));
  expect_error(c.Post("/v1/classify", too_many_labels.dump(), "application/json"), 422,
               "limit_exceeded");
  expect_error(c.Post("/v1/classify", "{not json", "application/json"), 400, "bad_request");
  expect_error(c.Post("/v1/classify", R"({"images": [], "labels": ["a"]})", "application/json"),
               400, "bad_request");
  expect_error(c.Post("/v1/classify", json({{"images", {image}}}).dump(), "application/json"), 400,
               "bad_request");
  expect_error(c.Post("/v1/classify", "x", "text/plain"), 415, "unsupported_media_type");
  const json bad_template = {{"images", {image}}, {"labels", {"a"}}, {"template", "no label"}};
  expect_error(c.Post("/v1/classify", bad_template.dump(), "application/json"), 400,
               "invalid_argument");
  const json bad_utf8 = {{"images", {image}}, {"labels", {"ok"}}, {"top_k", -1}};
  expect_error(c.Post("/v1/classify", bad_utf8.dump(), "application/json"), 400,
               "invalid_argument");
  expect_error(c.Post("/v1/classify?label=a&top_k=x", read_binary(kImages + "small_100x80.png"),
                      "image/png"),
               400, "bad_request");
}

TEST(ServeLimits, BodySizeQueueAndTimeout) {
  ServeProcess server({"--repo", kModel, "--max-body-bytes", "200000", "--max-queue", "2",
                       "--timeout-ms", "1", "--max-delay-ms", "0"});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  auto c = server.client();
  const std::string big = read_binary(kImages + "large_1600x1200_q90.jpg");
  ASSERT_GT(big.size(), 200000u);
  expect_error(c.Post("/v1/classify?label=a", big, "image/jpeg"), 413, "payload_too_large");
  // A chunked body has no Content-Length to refuse up front: it stops at the limit while read.
  const int fd = connect_loopback(server.port());
  const std::string head =
      "POST /v1/classify?label=a HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  ::send(fd, head.data(), head.size(), 0);
  const std::string chunk(100000, 'x');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (int i = 0; i < 4; ++i) {
    ::send(fd, size_line, std::strlen(size_line), MSG_NOSIGNAL);
    ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    ::send(fd, "\r\n", 2, MSG_NOSIGNAL);
  }
  char reply[256] = {};
  ASSERT_GT(::recv(fd, reply, sizeof reply - 1, 0), 0);
  ::close(fd);
  EXPECT_EQ(std::string(reply).rfind("HTTP/1.1 413", 0), 0u) << reply;
  const std::string small = base64(read_binary(kImages + "small_100x80.png"));
  const json three = {{"images", {small, small, small}}, {"labels", {"a"}}};
  auto r = c.Post("/v1/classify", three.dump(), "application/json");
  expect_error(r, 429, "queue_full");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  // 1 ms cannot hold a decode of a 640x480 JPEG and a model pass.
  const json slow = {{"images", {base64(read_binary(kImages + "scene_640x480_q92.jpg"))}},
                     {"labels", {"a"}}};
  expect_error(c.Post("/v1/classify", slow.dump(), "application/json"), 504, "timeout");
  // Requests are counted after their response has been written, so a count may lag its response
  // (on a loaded machine, the thread that wrote a refusal on a closed connection can run its
  // count after the next requests): wait for all three, up to 2 s.
  const std::vector<std::string> reasons = {"payload_too_large", "queue_full", "timeout"};
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = c.Get("/metrics")->body;
    if (std::all_of(reasons.begin(), reasons.end(), [&](const std::string& reason) {
          return metrics.find("reason=\"" + reason + "\"") != std::string::npos;
        }))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const std::string& reason : reasons) {
    EXPECT_NE(metrics.find("zeroshot_rejected_total{reason=\"" + std::string(reason) + "\"}"),
              std::string::npos)
        << reason << "\n"
        << metrics;
  }
  EXPECT_EQ(server.terminate(), 0);
}

TEST(ServeAuth, BearerKeyOnEveryRouteButHealth) {
  const auto dir = make_temp_dir("zs_serve_key_");
  const std::string key = "s3cret-key-for-tests";
  std::ofstream(dir / "key") << key << "\n";
  ServeProcess server({"--repo", kModel, "--api-key-file", (dir / "key").string()});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  auto c = server.client();
  EXPECT_EQ(c.Get("/health/live")->status, 200);
  EXPECT_EQ(c.Get("/health/ready")->status, 200);
  EXPECT_EQ(c.Get("/")->status, 200);
  expect_error(c.Get("/v1/models"), 401, "unauthorized");
  expect_error(c.Get("/metrics"), 401, "unauthorized");
  httplib::Headers wrong = {{"Authorization", "Bearer s3cret-key-for-tesTS"}};
  expect_error(c.Get("/v1/models", wrong), 401, "unauthorized");
  httplib::Headers prefix = {{"Authorization", "Bearer s3cret"}};
  expect_error(c.Get("/v1/models", prefix), 401, "unauthorized");
  httplib::Headers right = {{"Authorization", "Bearer " + key}};
  EXPECT_EQ(c.Get("/v1/models", right)->status, 200);
  const json body = {{"images", {base64(read_binary(kImages + "small_100x80.png"))}},
                     {"labels", {"a"}}};
  expect_error(c.Post("/v1/classify", body.dump(), "application/json"), 401, "unauthorized");
  EXPECT_EQ(c.Post("/v1/classify", right, body.dump(), "application/json")->status, 200);
  EXPECT_EQ(server.terminate(), 0);
  EXPECT_EQ(server.log().find(key), std::string::npos) << "the key was logged";
  std::filesystem::remove_all(dir);
}

TEST(ServeReady, NotReadyUntilLoadedThen200) {
  FakeHub hub;
  const HubEnvironment environment(hub);
  hub.set_fault(Fault::kSlow);  // the weights arrive in about 0.4 s
  ServeProcess server({"--repo", kRepo});
  ASSERT_GT(server.port(), 0) << server.log();
  auto c = server.client();
  auto first = c.Get("/health/ready");
  expect_error(first, 503, "not_ready");
  const json body = {{"images", {base64(read_binary(kImages + "small_100x80.png"))}},
                     {"labels", {"a"}}};
  expect_error(c.Post("/v1/classify", body.dump(), "application/json"), 503, "not_ready");
  EXPECT_EQ(c.Get("/health/live")->status, 200);
  ASSERT_TRUE(server.wait_ready()) << server.log();
  EXPECT_EQ(c.Post("/v1/classify", body.dump(), "application/json")->status, 200);
  EXPECT_EQ(server.terminate(), 0);
}

// Polls /metrics (up to 10 s) until it holds `sample`.
bool wait_for_metric(const ServeProcess& server, const std::string& sample) {
  for (int i = 0; i < 500; ++i) {
    auto r = server.client().Get("/metrics");
    if (r && r->body.find(sample) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "/metrics never showed " << sample;
  return false;
}

TEST(ServeShutdown, SigtermAnswersEveryAcceptedRequestThenExits0) {
  // Batches would wait 10 s for company: the requests are still queued at SIGTERM, and the drain
  // must run them at once.
  ServeProcess server({"--repo", kModel, "--max-batch", "64", "--max-delay-ms", "10000"});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const json body = {{"images", {base64(read_binary(kImages + "small_100x80.png"))}},
                     {"labels", {"a dog", "a cat"}}};
  std::vector<std::future<int>> statuses;
  for (int i = 0; i < 6; ++i) {
    statuses.push_back(std::async(std::launch::async, [&] {
      auto r = server.client().Post("/v1/classify", body.dump(), "application/json");
      return r ? r->status : -1;
    }));
  }
  // Accepted and queued: the queue-depth gauge says 6.
  ASSERT_TRUE(wait_for_metric(server, "zeroshot_queue_depth{model=\"" + kModel + "\"} 6"));
  const auto start = std::chrono::steady_clock::now();
  auto terminated = std::async(std::launch::async, [&] { return server.terminate(); });
  for (auto& s : statuses) EXPECT_EQ(s.get(), 200);
  EXPECT_EQ(terminated.get(), 0) << server.log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  const std::string log = server.log();
  EXPECT_NE(log.find("\"event\":\"draining\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"stopped\""), std::string::npos) << log;
}

TEST(ServeShutdown, AClientThatLeftIsDroppedBeforeItsModelPass) {
  ServeProcess server({"--repo", kModel, "--max-batch", "64", "--max-delay-ms", "3000"});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const json body = {{"images", {base64(read_binary(kImages + "small_100x80.png"))}},
                     {"labels", {"a dog"}}};
  const std::string payload = body.dump();
  const std::string request =
      "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(payload.size()) + "\r\n\r\n" + payload;
  const int fd = connect_loopback(server.port());
  ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  // Queued, waiting 3 s for company; then the client leaves.
  ASSERT_TRUE(wait_for_metric(server, "zeroshot_queue_depth{model=\"" + kModel + "\"} 1"));
  ::close(fd);
  ASSERT_TRUE(wait_for_metric(server, "zeroshot_rejected_total{reason=\"abandoned\"} 1"));
  const std::string metrics = server.client().Get("/metrics")->body;
  EXPECT_NE(metrics.find("zeroshot_rejected_total{reason=\"abandoned\"} 1"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("zeroshot_batch_size_count 0"), std::string::npos) << metrics;
  EXPECT_EQ(server.terminate(), 0);
}

TEST(ServePage, TheWebPageIsServedFromTheBinary) {
  ServeProcess server({"--repo", kModel});
  ASSERT_TRUE(server.wait_ready()) << server.log();
  auto r = server.client().Get("/");
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("/v1/classify"), std::string::npos);
  EXPECT_NE(r->body.find("/v1/similarity"), std::string::npos);
  // Offline: nothing is loaded from another host.
  EXPECT_EQ(r->body.find("http://"), std::string::npos);
  EXPECT_EQ(r->body.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace zeroshot::testing

namespace zeroshot::testing {
namespace {

TEST(ServeCli, BadFlagsAndStartFailuresHaveTheirExitCodes) {
  EXPECT_EQ(run_cli({"serve", "--port", "70000"}).exit_code, 2);
  EXPECT_EQ(run_cli({"serve", "--max-batch", "0"}).exit_code, 2);
  const CliResult key = run_cli({"serve", "--repo", kModel, "--api-key-file", "/nonexistent/key"});
  EXPECT_EQ(key.exit_code, 1);
  EXPECT_NE(key.err.find("error (io): --api-key-file: cannot read /nonexistent/key"),
            std::string::npos)
      << key.err;
  const CliResult missing = run_cli({"serve", "--repo", "/nonexistent/model", "--port", "0"}, 60);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("zeroshot: error (model_not_found)"), std::string::npos)
      << missing.err;
  ServeProcess server({"--repo", kModel});
  ASSERT_GT(server.port(), 0) << server.log();
  const CliResult taken =
      run_cli({"serve", "--repo", kModel, "--port", std::to_string(server.port())}, 30);
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("cannot listen on 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << taken.err;
}

}  // namespace
}  // namespace zeroshot::testing
