// `zeroshot serve --db` end to end: /v1/search against `zeroshot search --json` (text, image and
// embedding queries, top_k, min_score), /v1/index against the index's contents, and /v1/image
// serving the indexed files only (byte for byte; anything else 404, a deleted file 410 without
// harm to the server). Every HTTP call has connect and read timeouts (ServeProcess::client) and
// the server is killed in the suite's teardown whatever the tests did (and with the test
// process, PR_SET_PDEATHSIG).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "e2e/serve_process.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kImages = {
    "exact_224x224.png", "small_100x80.png",  "odd_225x301.png",    "scene_150x110.bmp",
    "cmyk_200x150.jpg",  "scene_640x480.png", "gray16_240x180.png", "palette_P_256x256.png"};
const std::vector<std::string> kQueries = {"a dog", "a red car", "a photo of a tree"};

// RFC 4648 base64 (standard alphabet, padded), independent of the server's decoder.
std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(left == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// GET /v1/image?path=PATH, PATH percent-encoded here (every byte but RFC 3986's unreserved ones);
// the clients send it as it is (set_url_encode(false)).
std::string image_route(const std::string& path) {
  std::string out = "/v1/image?path=";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

class ServeSearch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(make_temp_dir("zs_serve_search_"));
    const fs::path photos = *dir_ / "photos";
    fs::create_directories(photos);
    for (const auto& name : kImages) fs::copy_file(image_path(name), photos / name);
    fs::copy_file(image_path("scene_640x480_q92.jpg"), photos / "deleted_later.jpg");
    std::ofstream(photos / "notes.txt") << "not an image: not indexed";
    const auto r = run_cli({"index", "--db", db(), "--repo", kTinyClip, "-q", photos.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // No --repo: the server takes the index's model.
    server_ = new ServeProcess({"--db", db(), "--threads", "1"});
    ASSERT_GT(server_->port(), 0) << server_->log();
    ASSERT_TRUE(server_->wait_ready()) << server_->log();
  }
  static void TearDownTestSuite() {
    delete server_;  // SIGKILL if still running, then reaped
    server_ = nullptr;
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(server_->port(), 0) << server_->log();
  }

  static std::string db() { return (*dir_ / "photos.db").string(); }
  static fs::path photos() { return *dir_ / "photos"; }

  static httplib::Result post(const json& body) {
    return server_->client().Post("/v1/search", body.dump(), "application/json");
  }
  // The hits of a search request (path, score), failing the test on anything but 200.
  static std::vector<std::pair<std::string, double>> hits_of(const json& body) {
    const auto r = post(body);
    std::vector<std::pair<std::string, double>> out;
    EXPECT_TRUE(r) << "no response";
    if (!r) return out;
    EXPECT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["model"], kTinyClip);
    for (const auto& h : j["hits"]) out.emplace_back(h["path"], h["score"]);
    return out;
  }
  // What `zeroshot search --json` prints for the same query.
  static std::vector<std::pair<std::string, double>> cli_hits(std::vector<std::string> args) {
    args.insert(args.begin(), {"search", "--db", db(), "--json"});
    const auto r = run_cli(args);
    std::vector<std::pair<std::string, double>> out;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return out;
    for (const auto& h : json::parse(r.out)) out.emplace_back(h["path"], h["score"]);
    return out;
  }
  static void expect_same(const std::vector<std::pair<std::string, double>>& served,
                          const std::vector<std::pair<std::string, double>>& cli) {
    ASSERT_EQ(served.size(), cli.size());
    for (std::size_t i = 0; i < cli.size(); ++i) {
      EXPECT_EQ(served[i].first, cli[i].first) << "rank " << i;
      EXPECT_NEAR(served[i].second, cli[i].second, 1e-6) << cli[i].first;
    }
  }
  static void expect_error(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_EQ(j["error"]["code"], code) << r->body;
  }

  static fs::path* dir_;
  static ServeProcess* server_;
};

fs::path* ServeSearch::dir_ = nullptr;
ServeProcess* ServeSearch::server_ = nullptr;

TEST_F(ServeSearch, TextSearchEqualsTheCli) {
  for (const auto& q : kQueries) {
    SCOPED_TRACE(q);
    const auto all = hits_of({{"text", q}, {"top_k", 0}});
    EXPECT_EQ(all.size(), kImages.size() + 1);
    expect_same(all, cli_hits({"--top-k", "0", q}));
    expect_same(hits_of({{"text", q}, {"top_k", 3}}), cli_hits({"--top-k", "3", q}));
    // Default top_k: 10, as the CLI's.
    expect_same(hits_of({{"text", q}}), cli_hits({q}));
    // min_score: the cut-off between the third and fourth hit.
    char cut_text[32];
    std::snprintf(cut_text, sizeof cut_text, "%.6f", (all[2].second + all[3].second) / 2);
    const double cut = std::stod(cut_text);
    ASSERT_GT(all[2].second, cut);
    ASSERT_LT(all[3].second, cut);
    const auto above = hits_of({{"text", q}, {"top_k", 0}, {"min_score", cut}});
    expect_same(above, cli_hits({"--top-k", "0", "--min-score", cut_text, q}));
    EXPECT_EQ(above.size(), 3u);
  }
}

TEST_F(ServeSearch, ImageSearchEqualsTheCli) {
  for (const std::string name : {"scene_640x480_q92.jpg", "odd_301x225.png"}) {
    SCOPED_TRACE(name);
    const std::string bytes = slurp(image_path(name));
    ASSERT_FALSE(bytes.empty());
    const auto served = hits_of({{"image", base64(bytes)}, {"top_k", 0}});
    expect_same(served, cli_hits({"--top-k", "0", "--image", image_path(name)}));
    // A data URL, as the web page sends it.
    expect_same(hits_of({{"image", "data:image/png;base64," + base64(bytes)}, {"top_k", 0}}),
                served);
  }
}

TEST_F(ServeSearch, EmbeddingSearchEqualsTheTextSearch) {
  const auto r = run_cli({"embed", "--repo", kTinyClip, "--json", "--text", "a red car"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<double> e = json::parse(r.out)[0]["embedding"].get<std::vector<double>>();
  const auto by_text = cli_hits({"--top-k", "0", "a red car"});
  expect_same(hits_of({{"embedding", e}, {"top_k", 0}}), by_text);
  // Any length: the server normalises it (scores are cosines).
  for (auto& x : e) x *= 3.5;
  expect_same(hits_of({{"embedding", e}, {"top_k", 0}}), by_text);
}

TEST_F(ServeSearch, IndexRouteDescribesTheIndex) {
  const auto r = server_->client().Get("/v1/index");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["model"], kTinyClip);
  EXPECT_EQ(j["family"], "clip");
  EXPECT_EQ(j["revision"], "main");
  EXPECT_EQ(j["count"], kImages.size() + 1);
  EXPECT_EQ(j["failures"], 0);
  const auto e = run_cli({"embed", "--repo", kTinyClip, "--json", "--text", "x"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(j["embedding_dim"], json::parse(e.out)[0]["embedding"].size());
}

TEST_F(ServeSearch, ImageRouteServesIndexedFilesOnly) {
  auto client = server_->client();
  client.set_url_encode(false);
  // Every hit's file, byte for byte, with its type.
  for (const auto& [path, score] : hits_of({{"text", "a dog"}, {"top_k", 0}})) {
    const auto r = client.Get(image_route(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    EXPECT_TRUE(r->body == slurp(path)) << path;
    const std::string ext = fs::path(path).extension().string();
    const std::string type = r->get_header_value("Content-Type");
    const std::map<std::string, std::string> types = {
        {".png", "image/png"}, {".jpg", "image/jpeg"}, {".bmp", "image/bmp"}};
    ASSERT_TRUE(types.count(ext)) << path;
    EXPECT_EQ(type, types.at(ext)) << path;
  }
  // Anything else: 404, whether it exists or not.
  const std::string indexed = (photos() / "small_100x80.png").string();
  for (const std::string& path :
       {std::string("/etc/passwd"), (photos() / "notes.txt").string(), db(), photos().string(),
        std::string(""), std::string("photos/small_100x80.png"), std::string("small_100x80.png"),
        (photos() / ".." / "photos" / "small_100x80.png").string(), indexed + "/",
        (photos() / "missing.png").string(), image_path("small_100x80.png")}) {
    SCOPED_TRACE(path);
    expect_error(client.Get(image_route(path)), 404, "not_found");
  }
  expect_error(client.Get("/v1/image"), 404, "not_found");
}

// It deletes an indexed file (of this process's own copy: ctest runs each test alone).
TEST_F(ServeSearch, ImageRouteAnswersGoneForADeletedFileAndKeepsServing) {
  const std::string gone = (photos() / "deleted_later.jpg").string();
  auto client = server_->client();
  client.set_url_encode(false);
  const auto before = client.Get(image_route(gone));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 200);
  fs::remove(gone);
  expect_error(client.Get(image_route(gone)), 410, "gone");
  // Replaced by a folder: still no crash, still gone.
  fs::create_directories(gone);
  expect_error(client.Get(image_route(gone)), 410, "gone");
  fs::remove(gone);
  const auto ready = client.Get("/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  // Search still lists it (the index is as it was built) until `zeroshot index` runs again.
  const auto hits = hits_of({{"text", "a dog"}, {"top_k", 0}});
  EXPECT_EQ(hits.size(), kImages.size() + 1);
}

TEST_F(ServeSearch, BadRequestsAreRefusedWithTheirCodes) {
  expect_error(post({{"top_k", 3}}), 400, "bad_request");
  expect_error(post({{"text", "a dog"}, {"embedding", {1.0, 0.0}}}), 400, "bad_request");
  expect_error(post({{"text", 3}}), 400, "bad_request");
  expect_error(post({{"text", "a dog"}, {"top_k", -1}}), 400, "bad_request");
  expect_error(post({{"text", "a dog"}, {"top_k", "3"}}), 400, "bad_request");
  expect_error(post({{"text", "a dog"}, {"min_score", 2}}), 400, "bad_request");
  expect_error(post({{"embedding", {1.0, 0.0}}}), 400, "invalid_argument");  // wrong size
  expect_error(post({{"embedding", {0.0, 0.0}}}), 400, "bad_request");
  expect_error(post({{"embedding", "x"}}), 400, "bad_request");
  expect_error(post({{"image", "not base64!"}}), 400, "invalid_argument");
  expect_error(post({{"image", base64("not an image")}}), 400, "image_decode");
  expect_error(server_->client().Post("/v1/search", "{", "application/json"), 400, "bad_request");
  expect_error(server_->client().Post("/v1/search", "a dog", "text/plain"), 415,
               "unsupported_media_type");
}

// --ann: the HNSW graph is built before ready; on a collection this small it finds the exact
// top k (every node is within reach), so the hits equal exact search's, by the server and by
// `zeroshot search --ann`.
TEST(ServeAnn, ApproximateSearchOfASmallIndexEqualsExact) {
  const fs::path dir = make_temp_dir("zs_serve_ann_");
  const fs::path photos = dir / "photos";
  fs::create_directories(photos);
  for (const auto& name : kImages) fs::copy_file(image_path(name), photos / name);
  const std::string db = (dir / "photos.db").string();
  ASSERT_EQ(run_cli({"index", "--db", db, "--repo", kTinyClip, "-q", photos.string()}).exit_code,
            0);
  ServeProcess server({"--db", db, "--ann", "--threads", "1"});
  ASSERT_GT(server.port(), 0) << server.log();
  ASSERT_TRUE(server.wait_ready()) << server.log();
  const auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"search", "--db", db, "--json", "--top-k", "4"});
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::array();
  };
  for (const auto& q : kQueries) {
    SCOPED_TRACE(q);
    const json exact = cli({q});
    ASSERT_EQ(exact.size(), 4u);
    // Scores to 1e-5: the graph's hits are rescored by a loop, exact search by a GEMM.
    const json ann = cli({"--ann", q});
    ASSERT_EQ(ann.size(), exact.size());
    for (std::size_t i = 0; i < ann.size(); ++i) {
      EXPECT_EQ(ann[i]["path"], exact[i]["path"]);
      EXPECT_NEAR(ann[i]["score"].get<double>(), exact[i]["score"].get<double>(), 1e-5);
    }
    for (const bool force_exact : {false, true}) {
      const auto r = server.client().Post(
          "/v1/search", json({{"text", q}, {"top_k", 4}, {"exact", force_exact}}).dump(),
          "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const json hits = json::parse(r->body)["hits"];
      ASSERT_EQ(hits.size(), exact.size());
      for (std::size_t i = 0; i < hits.size(); ++i) {
        EXPECT_EQ(hits[i]["path"], exact[i]["path"]);
        EXPECT_NEAR(hits[i]["score"].get<double>(), exact[i]["score"].get<double>(), 1e-5);
      }
    }
  }
  EXPECT_EQ(server.terminate(), 0);
  fs::remove_all(dir);
}

TEST(ServeWithoutIndex, SearchRoutesAnswerNoIndex) {
  ServeProcess server({"--repo", kTinyClip, "--threads", "1"});
  ASSERT_GT(server.port(), 0) << server.log();
  ASSERT_TRUE(server.wait_ready()) << server.log();
  auto client = server.client();
  client.set_url_encode(false);
  const auto check = [](const httplib::Result& r) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << r->body;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "no_index") << r->body;
  };
  check(client.Post("/v1/search", R"({"text": "a dog"})", "application/json"));
  check(client.Get("/v1/index"));
  check(client.Get(image_route(image_path("small_100x80.png"))));
  EXPECT_EQ(server.terminate(), 0);
}

TEST(ServeWithoutIndex, AMissingOrForeignIndexFileStopsTheServer) {
  const fs::path dir = make_temp_dir("zs_serve_search_bad_");
  const fs::path foreign = dir / "foreign.db";
  std::ofstream(foreign) << "not an index";
  const std::string before = slurp(foreign);
  for (const auto& file : {foreign, dir / "missing.db"}) {
    const auto r = run_cli({"serve", "--port", "0", "--db", file.string()}, 60);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(foreign), before);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot::testing
