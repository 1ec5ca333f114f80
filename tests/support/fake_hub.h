// A Hugging Face hub stand-in on 127.0.0.1 (ephemeral port) for the hub tests: the hub's URL
// scheme (/{org}/{name}/resolve/{revision}/{file}), headers (X-Repo-Commit, ETag, X-Linked-Etag,
// X-Linked-Size, X-Error-Code) and the LFS redirect to a CDN path, with request counting and
// fault injection on the CDN transfer.
#pragma once

#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace zeroshot::testing {

// Commits of the served repo "tiny/clip": kCommitMain is "main" (all fixture files); kCommitOld is
// the tag "v0.9" (another config.json, no vocab.json/merges.txt).
inline constexpr const char* kRepo = "tiny/clip";
inline constexpr const char* kCommitMain = "0123456789abcdef0123456789abcdef01234567";
inline constexpr const char* kCommitOld = "fedcba9876543210fedcba9876543210fedcba98";

enum class Fault {
  kNone,
  kDrop,         // close the connection after `fault_bytes` bytes of the body
  kStatus500,    // answer 500
  kSlow,         // send in 64 KiB pieces with a pause between them (finishes)
  kStall,        // send `fault_bytes`, then go silent for `stall_ms`, then close
  kWrongLength,  // a clean body 100 bytes shorter than X-Linked-Size
  kBadChecksum,  // the right length, one byte flipped
};

struct ServedFile {
  std::string content;
  bool lfs = false;
  std::string etag;  // sha256 of content for LFS files, a 40-hex id otherwise
};

class FakeHub {
 public:
  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Fault on CDN (LFS blob) GETs: applies to the next `times` transfers (-1: all of them).
  void set_fault(Fault fault, int times = -1, size_t fault_bytes = 1 << 20, int stall_ms = 3000);
  // Requests without "authorization: Bearer <token>" to repo "gated/clip" get 403 GatedRepo.
  void set_gated_token(const std::string& token);

  int request_count() const { return requests_.load(); }
  int ranged_request_count() const { return ranged_.load(); }
  std::vector<std::string> log() const;  // "METHOD path [range]" in arrival order
  // The Authorization header of the last request to `path_prefix` ("" when absent).
  std::string last_authorization(const std::string& path_prefix) const;

  // Serves another repo: `files` (name -> content; model.safetensors as an LFS blob) at `commit`,
  // also as its "main". Call before the first request.
  void add_repo(const std::string& repo, const std::string& commit,
                const std::map<std::string, std::string>& files);

  // The served files of a commit, for expectations.
  const std::map<std::string, ServedFile>& files(const std::string& commit) const {
    return commits_.at(commit);
  }

 private:
  void serve_resolve(const httplib::Request& req, httplib::Response& res);
  void serve_cdn(const httplib::Request& req, httplib::Response& res);
  void record(const httplib::Request& req);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::map<std::string, std::map<std::string, ServedFile>> commits_;  // commit -> name -> file
  std::map<std::string, std::string> blobs_;                          // sha256 -> content
  std::map<std::string, std::string> added_repos_;                    // add_repo: repo -> commit
  mutable std::mutex mutex_;
  Fault fault_ = Fault::kNone;
  int fault_times_ = 0;
  size_t fault_bytes_ = 0;
  int stall_ms_ = 0;
  std::string gated_token_;
  std::vector<std::string> log_;
  std::map<std::string, std::string> authorization_;  // path -> header
  std::atomic<int> requests_{0};
  std::atomic<int> ranged_{0};
};

// A fresh Hugging Face cache under a temporary root, with the environment pointed at `hub`:
// HF_HUB_CACHE=<root>/hub, HF_HOME=<root>/home, HF_ENDPOINT, short timeouts, no token and no
// offline mode. The destructor removes the root and resets offline mode and the token.
class HubEnvironment {
 public:
  explicit HubEnvironment(const FakeHub& hub, int download_timeout_seconds = 5);
  ~HubEnvironment();
  HubEnvironment(const HubEnvironment&) = delete;
  HubEnvironment& operator=(const HubEnvironment&) = delete;

  const std::string& root() const { return root_; }
  std::string cache() const { return root_ + "/hub"; }

 private:
  std::string root_;
};

// The fixture folder tests/fixtures/models/tiny-clip.
std::string fixture_model_dir();
std::string read_binary(const std::string& path);
std::string sha256_hex(const std::string& data);

}  // namespace zeroshot::testing
