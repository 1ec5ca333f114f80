#include "support/fake_hub.h"

#include <openssl/sha.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace zeroshot::testing {
namespace {

std::string hex(const unsigned char* digest, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

// The id git (and so the hub's ETag) gives a non-LFS file: sha1("blob <size>\0<content>").
std::string git_blob_id(const std::string& content) {
  const std::string data =
      "blob " + std::to_string(content.size()) + std::string(1, '\0') + content;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(digest, sizeof digest);
}

ServedFile make_file(const std::string& content, bool lfs) {
  ServedFile file;
  file.content = content;
  file.lfs = lfs;
  file.etag = lfs ? sha256_hex(content) : git_blob_id(content);
  return file;
}

}  // namespace

std::string fixture_model_dir() { return std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip"; }

std::string read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return hex(digest, sizeof digest);
}

FakeHub::FakeHub() {
  const std::string dir = fixture_model_dir();
  auto& main = commits_[kCommitMain];
  for (const char* name :
       {"config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
        "vocab.json", "merges.txt", "special_tokens_map.json"}) {
    main[name] = make_file(read_binary(dir + "/" + name), false);
  }
  main["model.safetensors"] = make_file(read_binary(dir + "/model.safetensors"), true);
  // The older commit: the same weights and tokenizer.json, another config, no vocab/merges.
  auto& old = commits_[kCommitOld];
  old = main;
  old.erase("vocab.json");
  old.erase("merges.txt");
  old["config.json"] = make_file(main["config.json"].content + "\n", false);
  // A repo with only a pickle checkpoint.
  auto& bin = commits_["b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1"];
  bin["config.json"] = main["config.json"];
  bin["pytorch_model.bin"] = make_file("not really a pickle", true);
  for (const auto& [commit, files] : commits_) {
    for (const auto& [name, file] : files) {
      if (file.lfs) blobs_[file.etag] = file.content;
    }
  }

  server_.Get(
      R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))",
      [this](const httplib::Request& req, httplib::Response& res) { serve_resolve(req, res); });
  server_.Get(R"(/cdn/([0-9a-f]+))",
              [this](const httplib::Request& req, httplib::Response& res) { serve_cdn(req, res); });
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // cpp-httplib's stop() does nothing until the listen loop has started (is_running()): a hub
  // destroyed before then (a test that makes no request, on a loaded machine) would wait in
  // join() forever. So the constructor returns only once the server runs.
  // (A failed bind, port_ < 0, never runs: the tests then fail on the port.)
  for (int waited_ms = 0; port_ >= 0 && !server_.is_running() && waited_ms < 60'000; ++waited_ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeHub::~FakeHub() {
  {
    std::lock_guard lock(mutex_);
    fault_ = Fault::kNone;
    stall_ms_ = 0;
  }
  server_.stop();
  thread_.join();
}

void FakeHub::set_fault(Fault fault, int times, size_t fault_bytes, int stall_ms) {
  std::lock_guard lock(mutex_);
  fault_ = fault;
  fault_times_ = times;
  fault_bytes_ = fault_bytes;
  stall_ms_ = stall_ms;
}

void FakeHub::set_gated_token(const std::string& token) {
  std::lock_guard lock(mutex_);
  gated_token_ = token;
}

std::vector<std::string> FakeHub::log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::string FakeHub::last_authorization(const std::string& path_prefix) const {
  std::lock_guard lock(mutex_);
  std::string found;
  for (const auto& [path, value] : authorization_) {
    if (path.rfind(path_prefix, 0) == 0) found = value;
  }
  return found;
}

void FakeHub::record(const httplib::Request& req) {
  ++requests_;
  std::string entry = req.method + " " + req.path;
  if (req.has_header("Range")) {
    ++ranged_;
    entry += " " + req.get_header_value("Range");
  }
  std::lock_guard lock(mutex_);
  log_.push_back(entry);
  authorization_[req.path] =
      req.has_header("Authorization") ? req.get_header_value("Authorization") : "";
}

void FakeHub::add_repo(const std::string& repo, const std::string& commit,
                       const std::map<std::string, std::string>& files) {
  auto& served = commits_[commit];
  for (const auto& [name, content] : files) {
    served[name] = make_file(content, name == "model.safetensors");
    if (served[name].lfs) blobs_[served[name].etag] = content;
  }
  added_repos_[repo] = commit;
}

void FakeHub::serve_resolve(const httplib::Request& req, httplib::Response& res) {
  record(req);
  const std::string repo = std::string(req.matches[1]) + "/" + std::string(req.matches[2]);
  const std::string revision = req.matches[3];
  const std::string name = req.matches[4];
  if (repo == "old/clip") {  // a renamed repo: the hub answers with a relative redirect
    res.status = 307;
    res.set_header("Location", "/tiny/clip/resolve/" + revision + "/" + name);
    return;
  }
  std::string commit;
  if (repo == "tiny/clip" || repo == "gated/clip") {
    if (repo == "gated/clip") {
      std::string token;
      {
        std::lock_guard lock(mutex_);
        token = gated_token_;
      }
      if (req.get_header_value("Authorization") != "Bearer " + token) {
        res.status = 403;
        res.set_header("X-Error-Code", "GatedRepo");
        res.set_content("Access to model gated/clip is restricted.", "text/plain");
        return;
      }
    }
    if (revision == "main") {
      commit = kCommitMain;
    } else if (revision == "v0.9") {
      commit = kCommitOld;
    } else if (revision == kCommitMain || revision == kCommitOld) {
      commit = revision;
    }
  } else if (const auto added = added_repos_.find(repo); added != added_repos_.end()) {
    if (revision == "main" || revision == added->second) commit = added->second;
  } else if (repo == "tiny/bin-only") {
    if (revision == "main" || revision == "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1") {
      commit = "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1";
    }
  } else {
    res.status = 404;
    res.set_header("X-Error-Code", "RepoNotFound");
    res.set_content("Repository not found", "text/plain");
    return;
  }
  if (commit.empty()) {
    res.status = 404;
    res.set_header("X-Error-Code", "RevisionNotFound");
    res.set_content("Invalid rev id: " + revision, "text/plain");
    return;
  }
  res.set_header("X-Repo-Commit", commit);
  const auto& files = commits_.at(commit);
  const auto it = files.find(name);
  if (it == files.end()) {
    res.status = 404;
    res.set_header("X-Error-Code", "EntryNotFound");
    res.set_content("Entry not found", "text/plain");
    return;
  }
  const ServedFile& file = it->second;
  if (file.lfs) {
    // As the hub: the resolve URL of an LFS file redirects to the CDN; the headers describe the
    // LFS object, the ETag is that of the pointer file.
    res.status = 302;
    // Another host name for the same loopback server: the CDN is on another host for the
    // client, which must not send it the token.
    res.set_header("Location", "http://localhost:" + std::to_string(port_) + "/cdn/" + file.etag);
    res.set_header("X-Linked-Etag", "\"" + file.etag + "\"");
    res.set_header("X-Linked-Size", std::to_string(file.content.size()));
    res.set_header("ETag", "\"" + git_blob_id("pointer " + file.etag) + "\"");
    return;
  }
  res.set_header("ETag", "\"" + file.etag + "\"");
  res.set_content(file.content, "application/octet-stream");
}

void FakeHub::serve_cdn(const httplib::Request& req, httplib::Response& res) {
  record(req);
  const auto it = blobs_.find(std::string(req.matches[1]));
  if (it == blobs_.end()) {
    res.status = 404;
    return;
  }
  Fault fault = Fault::kNone;
  size_t fault_bytes = 0;
  int stall_ms = 0;
  {
    std::lock_guard lock(mutex_);
    if (fault_times_ != 0) {
      fault = fault_;
      fault_bytes = fault_bytes_;
      stall_ms = stall_ms_;
      if (fault_times_ > 0) --fault_times_;
    }
  }
  if (fault == Fault::kStatus500) {
    res.status = 500;
    res.set_content("Internal Server Error", "text/plain");
    return;
  }
  auto content = std::make_shared<std::string>(it->second);
  if (fault == Fault::kWrongLength) content->resize(content->size() - 100);
  if (fault == Fault::kBadChecksum) (*content)[content->size() / 2] ^= 0x5a;
  auto sent = std::make_shared<size_t>(0);  // body bytes of this response
  res.set_content_provider(content->size(), "application/octet-stream",
                           [this, content, sent, fault, fault_bytes, stall_ms](
                               size_t offset, size_t length, httplib::DataSink& sink) {
                             size_t piece = std::min<size_t>(length, 64 * 1024);
                             if (fault == Fault::kDrop || fault == Fault::kStall) {
                               if (*sent >= fault_bytes) {
                                 for (int waited = 0; fault == Fault::kStall && waited < stall_ms;
                                      waited += 10) {
                                   {
                                     std::lock_guard lock(mutex_);
                                     if (stall_ms_ == 0) break;  // the server is shutting down
                                   }
                                   std::this_thread::sleep_for(std::chrono::milliseconds(10));
                                 }
                                 return false;  // closes the connection mid-body
                               }
                               piece = std::min(piece, fault_bytes - *sent);
                             }
                             if (fault == Fault::kSlow)
                               std::this_thread::sleep_for(std::chrono::milliseconds(5));
                             sink.write(content->data() + offset, piece);
                             *sent += piece;
                             return true;
                           });
}

HubEnvironment::HubEnvironment(const FakeHub& hub, int download_timeout_seconds) {
  char pattern[] = "/tmp/zeroshot-hub-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  setenv("HF_HUB_CACHE", cache().c_str(), 1);
  setenv("HF_HOME", (root_ + "/home").c_str(), 1);
  setenv("HF_ENDPOINT", hub.endpoint().c_str(), 1);
  setenv("HF_HUB_ETAG_TIMEOUT", "5", 1);
  setenv("HF_HUB_DOWNLOAD_TIMEOUT", std::to_string(download_timeout_seconds).c_str(), 1);
  for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE",
                           "TRANSFORMERS_OFFLINE", "HUGGINGFACE_HUB_CACHE"}) {
    unsetenv(name);
  }
}

HubEnvironment::~HubEnvironment() {
  for (const char* name : {"HF_HUB_OFFLINE", "HF_TOKEN"}) unsetenv(name);
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

}  // namespace zeroshot::testing
