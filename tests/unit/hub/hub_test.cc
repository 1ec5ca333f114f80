// The hub module against a real HTTP server on 127.0.0.1 (fake_hub.h): download, cache reuse,
// offline mode, revisions, the huggingface_hub cache layout, errors, faults, SIGKILL and two
// processes at once. Every test gets a fresh HF_HUB_CACHE.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "api/model_files.h"
#include "hub/cache.h"
#include "hub/hub.h"
#include "hub/sha256.h"
#include "support/expect_error.h"
#include "support/fake_hub.h"
#include "zeroshot/error.h"

extern char** environ;

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;
using hub::ResolveOptions;

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    environment_ = std::make_unique<HubEnvironment>(hub_, /*download_timeout_seconds=*/1);
    root_ = environment_->root();
    cache_ = environment_->cache();
    storage_ = cache_ + "/models--tiny--clip";
  }
  void TearDown() override { environment_.reset(); }

  std::string resolve(const std::string& repo = kRepo, const std::string& revision = "main") {
    ResolveOptions options;
    options.repo = repo;
    options.revision = revision;
    options.layout = api::model_layout();
    return hub::resolve_model_folder(options);
  }

  // Runs hub_fetch in a child process with the test's environment.
  pid_t spawn_fetch(const std::string& repo) {
    std::string exe = HUB_FETCH;
    std::vector<char*> argv = {exe.data(), const_cast<char*>(repo.c_str()), nullptr};
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    return pid;
  }
  static int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  int cdn_gets() const {
    int n = 0;
    for (const auto& entry : hub_.log()) n += entry.rfind("GET /cdn/", 0) == 0;
    return n;
  }

  // The cache invariants every fault must preserve: each snapshot entry is a relative symlink to
  // an existing blob; each sha256-named blob has that hash; a ref names a complete snapshot.
  void expect_consistent_cache() {
    if (!fs::exists(storage_)) return;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(storage_ + "/snapshots", ec)) {
      if (entry.is_directory()) continue;
      ASSERT_TRUE(fs::is_symlink(entry.symlink_status())) << entry.path();
      EXPECT_TRUE(fs::exists(entry.path())) << "dangling snapshot entry " << entry.path();
      EXPECT_EQ(fs::read_symlink(entry.path()).string().rfind("../../blobs/", 0), 0u);
    }
    for (const auto& entry : fs::directory_iterator(storage_ + "/blobs", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() == 64) {
        EXPECT_EQ(hub::sha256_file(entry.path().string()), name) << "corrupt blob " << name;
      }
    }
    for (const auto& ref : fs::recursive_directory_iterator(storage_ + "/refs", ec)) {
      if (!ref.is_regular_file()) continue;
      const std::string commit = read_binary(ref.path().string());
      EXPECT_TRUE(
          hub::is_complete_model_folder(storage_ + "/snapshots/" + commit, api::model_layout()))
          << ref.path();
    }
  }

  bool has_blob(const std::string& etag) const { return fs::exists(storage_ + "/blobs/" + etag); }
  std::string model_etag() const { return hub_.files(kCommitMain).at("model.safetensors").etag; }

  FakeHub hub_;
  std::unique_ptr<HubEnvironment> environment_;
  std::string root_, cache_, storage_;
};

// --- SHA-256 -------------------------------------------------------------------------------

TEST(Sha256, MatchesFipsVectorsAndOpenSsl) {
  hub::Sha256 abc;
  abc.update("abc", 3);
  EXPECT_EQ(abc.hex_digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  hub::Sha256 empty;
  EXPECT_EQ(empty.hex_digest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::mt19937 rng(7);
  for (size_t size : {1u, 55u, 56u, 63u, 64u, 65u, 1000u, 100000u}) {
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    hub::Sha256 pieces;  // fed in uneven pieces to cross block boundaries
    for (size_t at = 0; at < size;) {
      const size_t n = std::min<size_t>(size - at, 1 + rng() % 97);
      pieces.update(data.data() + at, n);
      at += n;
    }
    EXPECT_EQ(pieces.hex_digest(), sha256_hex(data)) << size;
  }
}

// --- Names and layout helpers ----------------------------------------------------------------

TEST(HubNames, AsHuggingFaceHub) {
  EXPECT_EQ(hub::repo_folder_name("openai/clip-vit-base-patch32"),
            "models--openai--clip-vit-base-patch32");
  EXPECT_EQ(hub::normalize_etag("W/\"abc\""), "abc");
  EXPECT_EQ(hub::normalize_etag("\"abc\""), "abc");
  EXPECT_TRUE(hub::is_commit_hash(kCommitMain));
  EXPECT_FALSE(hub::is_commit_hash("main"));
  EXPECT_TRUE(hub::is_valid_repo_id("openai/clip-vit-base-patch32"));
  EXPECT_TRUE(hub::is_valid_repo_id("gpt2"));
  for (const char* bad : {"", "a/b/c", "a--b/c", "../x", "a/.b", "a b/c", "/abs/path"}) {
    EXPECT_FALSE(hub::is_valid_repo_id(bad)) << bad;
  }
  EXPECT_TRUE(hub::is_valid_revision("refs/pr/1"));
  EXPECT_FALSE(hub::is_valid_revision("../../etc"));
  EXPECT_FALSE(hub::is_valid_revision("a/../b"));
}

// --- Download, reuse, offline, revisions ---------------------------------------------------

TEST_F(HubTest, FirstCallDownloadsSecondCallMakesNoRequest) {
  const std::string folder = resolve();
  EXPECT_EQ(folder, storage_ + "/snapshots/" + kCommitMain);
  for (const auto& [name, file] : hub_.files(kCommitMain)) {
    EXPECT_EQ(read_binary(folder + "/" + name), read_binary(fixture_model_dir() + "/" + name))
        << name;
  }
  EXPECT_EQ(cdn_gets(), 1);
  const int requests = hub_.request_count();
  EXPECT_GT(requests, 0);
  EXPECT_EQ(resolve(), folder);
  EXPECT_EQ(hub_.request_count(), requests) << "the second call must not touch the network";
  expect_consistent_cache();
}

TEST_F(HubTest, OfflineModeUsesTheCache) {
  const std::string folder = resolve();
  const int requests = hub_.request_count();
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(resolve(), folder);
  EXPECT_EQ(hub::download_snapshot({kRepo, "main", {}, api::model_layout()}), folder);
  EXPECT_EQ(hub_.request_count(), requests);
}

TEST_F(HubTest, OfflineWithNothingCachedSaysWhatToDo) {
  setenv("HF_HUB_OFFLINE", "1", 1);
  expect_error([&] { resolve(); }, ErrorCode::kOffline,
               {"HF_HUB_OFFLINE", storage_, "zeroshot download tiny/clip", "local model folder"});
  EXPECT_EQ(hub_.request_count(), 0);
}

TEST_F(HubTest, RevisionPinsACommit) {
  const std::string old_folder = resolve(kRepo, kCommitOld);
  EXPECT_EQ(old_folder, storage_ + "/snapshots/" + kCommitOld);
  EXPECT_EQ(read_binary(old_folder + "/config.json"),
            hub_.files(kCommitOld).at("config.json").content);
  EXPECT_FALSE(fs::exists(storage_ + "/refs/" + kCommitOld)) << "no ref for a commit hash";
  // Files absent at that commit are recorded as huggingface_hub does.
  EXPECT_TRUE(fs::is_regular_file(storage_ + "/.no_exist/" + kCommitOld + "/vocab.json"));
  EXPECT_TRUE(fs::is_regular_file(storage_ + "/.no_exist/" + kCommitOld + "/merges.txt"));
  // "main" is another snapshot; the weights blob is shared, not downloaded twice.
  const std::string main_folder = resolve();
  EXPECT_EQ(main_folder, storage_ + "/snapshots/" + kCommitMain);
  EXPECT_NE(read_binary(main_folder + "/config.json"), read_binary(old_folder + "/config.json"));
  EXPECT_EQ(cdn_gets(), 1);
  // A tag is stored as refs/<tag>.
  EXPECT_EQ(resolve(kRepo, "v0.9"), old_folder);
  EXPECT_EQ(read_binary(storage_ + "/refs/v0.9"), kCommitOld);
  // A pinned commit that is cached needs no request, online or not.
  const int requests = hub_.request_count();
  EXPECT_EQ(resolve(kRepo, kCommitOld), old_folder);
  EXPECT_EQ(hub::download_snapshot({kRepo, kCommitOld, {}, api::model_layout()}), old_folder);
  EXPECT_EQ(hub_.request_count(), requests);
  expect_consistent_cache();
}

TEST_F(HubTest, ProgressIsReportedPerFile) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> last;  // file -> (done, total)
  bool monotonic = true;
  ResolveOptions options{kRepo, "main",
                         [&](const hub::DownloadProgress& p) {
                           auto& [done, total] = last[p.file];
                           if (p.done < done) monotonic = false;
                           done = p.done;
                           total = p.total;
                         },
                         api::model_layout()};
  hub::resolve_model_folder(options);
  const uint64_t size = hub_.files(kCommitMain).at("model.safetensors").content.size();
  EXPECT_EQ(last["model.safetensors"].first, size);
  EXPECT_EQ(last["model.safetensors"].second, size);
  EXPECT_EQ(last["config.json"].first, last["config.json"].second);
  EXPECT_TRUE(monotonic);
}

TEST_F(HubTest, LocalFolderIsReturnedAsIs) {
  EXPECT_EQ(resolve(fixture_model_dir()), fixture_model_dir());
  EXPECT_EQ(hub_.request_count(), 0);
  expect_error([&] { resolve("/no/such/folder"); }, ErrorCode::kModelNotFound, {"/no/such/folder"});
}

TEST_F(HubTest, RenamedRepoFollowsTheHubsRelativeRedirect) {
  const std::string folder = resolve("old/clip");
  EXPECT_EQ(folder, cache_ + "/models--old--clip/snapshots/" + kCommitMain);
  EXPECT_TRUE(hub::is_complete_model_folder(folder, api::model_layout()));
}

// --- The cache is huggingface_hub's -----------------------------------------------------------

// What huggingface_hub's hf_hub_download leaves for one repo, computed from its algorithm
// (file_download.py): blobs/<normalised etag> with the content, snapshots/<commit>/<file> ->
// os.path.relpath(blob, snapshot dir), refs/<revision> holding the commit without a newline,
// .no_exist/<commit>/<file> empty. Keys: path relative to the cache; values: "dir", "link:<target>"
// or "file:<bytes>".
std::map<std::string, std::string> huggingface_hub_layout(
    const std::map<std::string, ServedFile>& files, const std::string& commit,
    const std::string& revision, const std::vector<std::string>& missing) {
  std::map<std::string, std::string> tree;
  const std::string repo = "models--tiny--clip";
  for (const char* dir : {"", "/blobs", "/snapshots", "/refs"}) tree[repo + dir] = "dir";
  tree[repo + "/snapshots/" + commit] = "dir";
  for (const auto& [name, file] : files) {
    tree[repo + "/blobs/" + file.etag] = "file:" + file.content;
    tree[repo + "/snapshots/" + commit + "/" + name] = "link:../../blobs/" + file.etag;
  }
  if (revision != commit) tree[repo + "/refs/" + revision] = "file:" + commit;
  if (!missing.empty()) {
    tree[repo + "/.no_exist"] = "dir";
    tree[repo + "/.no_exist/" + commit] = "dir";
    for (const auto& name : missing) tree[repo + "/.no_exist/" + commit + "/" + name] = "file:";
  }
  return tree;
}

std::map<std::string, std::string> actual_layout(const std::string& cache) {
  std::map<std::string, std::string> tree;
  for (const auto& entry : fs::recursive_directory_iterator(cache)) {
    const std::string rel = fs::path(entry.path()).lexically_relative(cache).string();
    if (rel.rfind(".locks", 0) == 0) continue;  // lock files: see docs/HUB.md
    if (fs::is_symlink(entry.symlink_status())) {
      tree[rel] = "link:" + fs::read_symlink(entry.path()).string();
    } else if (entry.is_directory()) {
      tree[rel] = "dir";
    } else {
      tree[rel] = "file:" + read_binary(entry.path().string());
    }
  }
  return tree;
}

TEST_F(HubTest, CacheIsByteForByteTheHuggingFaceHubLayout) {
  resolve();
  const auto expected = huggingface_hub_layout(hub_.files(kCommitMain), kCommitMain, "main", {});
  const auto actual = actual_layout(cache_);
  EXPECT_EQ(actual.size(), expected.size());
  for (const auto& [path, what] : expected) {
    auto it = actual.find(path);
    ASSERT_NE(it, actual.end()) << "missing " << path;
    EXPECT_TRUE(it->second == what)
        << path << ": " << it->second.substr(0, 80) << " vs " << what.substr(0, 80);
  }
  for (const auto& [path, what] : actual) EXPECT_TRUE(expected.count(path)) << "extra " << path;
  // Blob permissions as huggingface_hub's _chmod_and_move: 0666 & ~umask.
  const mode_t mask = umask(0);
  umask(mask);
  struct stat st {};
  ASSERT_EQ(stat((storage_ + "/blobs/" + model_etag()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
  // The lock files live where huggingface_hub puts them.
  EXPECT_TRUE(fs::exists(cache_ + "/.locks/models--tiny--clip/" + model_etag() + ".lock"));
}

TEST_F(HubTest, CacheWithMissingFilesIsTheHuggingFaceHubLayout) {
  resolve(kRepo, "v0.9");
  const auto expected = huggingface_hub_layout(hub_.files(kCommitOld), kCommitOld, "v0.9",
                                               {"merges.txt", "vocab.json"});
  EXPECT_EQ(actual_layout(cache_), expected);
}

TEST_F(HubTest, HandMadeHuggingFaceHubCacheIsUsedWithoutAnyRequest) {
  // Laid out the way huggingface_hub does, with our own etags and commit.
  const std::string commit = "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd";
  const std::string snapshot = storage_ + "/snapshots/" + commit;
  fs::create_directories(snapshot);
  fs::create_directories(storage_ + "/blobs");
  fs::create_directories(storage_ + "/refs");
  for (const auto& entry : fs::directory_iterator(fixture_model_dir())) {
    const std::string etag = sha256_hex(read_binary(entry.path().string()));
    fs::copy_file(entry.path(), storage_ + "/blobs/" + etag, fs::copy_options::overwrite_existing);
    fs::create_symlink("../../blobs/" + etag, snapshot + "/" + entry.path().filename().string());
  }
  std::ofstream(storage_ + "/refs/main") << commit;
  EXPECT_EQ(resolve(), snapshot);
  EXPECT_EQ(resolve(kRepo, commit), snapshot);
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(resolve(), snapshot);
  EXPECT_EQ(hub_.request_count(), 0);
  const auto models = hub::scan_cache(cache_);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].repo, kRepo);
  ASSERT_EQ(models[0].revisions.size(), 1u);
  EXPECT_EQ(models[0].revisions[0].commit, commit);
  EXPECT_EQ(models[0].revisions[0].refs, std::vector<std::string>{"main"});
  uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(fixture_model_dir())) bytes += entry.file_size();
  EXPECT_EQ(models[0].size_on_disk, bytes);
}

// --- Errors that say what to do ---------------------------------------------------------------

TEST_F(HubTest, RepoAndRevisionNotFound) {
  expect_error([&] { resolve("nobody/nothing"); }, ErrorCode::kHubNotFound,
               {"nobody/nothing", "not found", "HF_TOKEN"});
  expect_error([&] { resolve(kRepo, "no-such-branch"); }, ErrorCode::kHubNotFound,
               {"no-such-branch"});
  expect_consistent_cache();
}

TEST_F(HubTest, GatedRepoNeedsAToken) {
  hub_.set_gated_token("hf_secret");
  expect_error([&] { resolve("gated/clip"); }, ErrorCode::kHubUnauthorized,
               {"gated/clip", "403", "HF_TOKEN"});
  setenv("HF_TOKEN", "hf_secret", 1);
  EXPECT_TRUE(hub::is_complete_model_folder(resolve("gated/clip"), api::model_layout()));
  EXPECT_EQ(hub_.last_authorization("/gated/clip/"), "Bearer hf_secret");
  EXPECT_EQ(hub_.last_authorization("/cdn/"), "") << "the token must not follow the CDN redirect";
}

TEST_F(HubTest, TokenFileUnderHfHome) {
  hub_.set_gated_token("hf_from_file");
  fs::create_directories(root_ + "/home");
  std::ofstream(root_ + "/home/token") << "hf_from_file\n";
  EXPECT_TRUE(hub::is_complete_model_folder(resolve("gated/clip"), api::model_layout()));
}

TEST_F(HubTest, PickleOnlyRepoIsRefusedWithTheReason) {
  expect_error([&] { resolve("tiny/bin-only"); }, ErrorCode::kModelInvalid,
               {"pytorch_model.bin", "pickle", "model.safetensors"});
  EXPECT_EQ(cdn_gets(), 0) << "the pickle must not be downloaded";
}

TEST_F(HubTest, UnreachableHubSuggestsOfflineModeOrALocalPath) {
  // A port that was just free: bound, then closed without listening.
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  getsockname(sock, reinterpret_cast<sockaddr*>(&address), &length);
  close(sock);
  const int port = ntohs(address.sin_port);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(port);
  setenv("HF_ENDPOINT", endpoint.c_str(), 1);
  expect_error([&] { resolve(); }, ErrorCode::kNetwork,
               {endpoint, "HF_HUB_OFFLINE=1", "local model folder"});
}

TEST_F(HubTest, MalformedIdsAreRejected) {
  expect_error([&] { resolve("a/b/c"); }, ErrorCode::kModelNotFound, {"a/b/c", "org/name"});
  expect_error(
      [&] {
        hub::download_snapshot({kRepo, "../x", {}, api::model_layout()});
      },
      ErrorCode::kInvalidArgument, {"../x"});
  EXPECT_EQ(hub_.request_count(), 0);
}

// --- Faults
// ---------------------------------------------------------------------------------------

TEST_F(HubTest, DroppedConnectionIsResumedWithRange) {
  hub_.set_fault(Fault::kDrop, /*times=*/2, /*fault_bytes=*/1 << 20);
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  EXPECT_GE(hub_.ranged_request_count(), 2);
  bool resumed_at_1mib = false;
  for (const auto& entry : hub_.log()) {
    resumed_at_1mib |= entry.find("bytes=1048576-") != std::string::npos;
  }
  EXPECT_TRUE(resumed_at_1mib);
  expect_consistent_cache();
}

TEST_F(HubTest, ConnectionDroppedEveryTimeLeavesACleanCacheAndARerunRecovers) {
  hub_.set_fault(Fault::kDrop, /*times=*/-1, /*fault_bytes=*/512 * 1024);
  expect_error([&] { resolve(); }, ErrorCode::kNetwork, {"interrupted", "resumed"});
  EXPECT_FALSE(has_blob(model_etag()));
  EXPECT_TRUE(fs::exists(storage_ + "/blobs/" + model_etag() + ".incomplete"));
  EXPECT_FALSE(fs::exists(storage_ + "/refs/main"));
  EXPECT_FALSE(fs::exists(
      fs::symlink_status(storage_ + "/snapshots/" + kCommitMain + "/model.safetensors")));
  expect_consistent_cache();
  hub_.set_fault(Fault::kNone);
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  EXPECT_FALSE(fs::exists(storage_ + "/blobs/" + model_etag() + ".incomplete"));
  expect_consistent_cache();
}

TEST_F(HubTest, ServerErrorFailsCleanlyAndARerunRecovers) {
  hub_.set_fault(Fault::kStatus500, /*times=*/1);
  expect_error([&] { resolve(); }, ErrorCode::kNetwork, {"HTTP 500"});
  EXPECT_FALSE(has_blob(model_etag()));
  expect_consistent_cache();
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  expect_consistent_cache();
}

TEST_F(HubTest, SlowServerStillCompletes) {
  hub_.set_fault(Fault::kSlow);
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  expect_consistent_cache();
}

TEST_F(HubTest, StalledTransferTimesOutAndResumes) {
  // HF_HUB_DOWNLOAD_TIMEOUT=1: a server silent for 3 s is abandoned and the transfer resumed.
  hub_.set_fault(Fault::kStall, /*times=*/1, /*fault_bytes=*/1 << 20, /*stall_ms=*/3000);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_GE(hub_.ranged_request_count(), 1);
  expect_consistent_cache();
}

TEST_F(HubTest, WrongLengthIsNeverCached) {
  hub_.set_fault(Fault::kWrongLength, /*times=*/1);
  expect_error([&] { resolve(); }, ErrorCode::kNetwork, {"corrupt", "bytes"});
  EXPECT_FALSE(has_blob(model_etag()));
  EXPECT_FALSE(fs::exists(storage_ + "/blobs/" + model_etag() + ".incomplete"));
  expect_consistent_cache();
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  expect_consistent_cache();
}

TEST_F(HubTest, ChecksumMismatchIsNeverCached) {
  hub_.set_fault(Fault::kBadChecksum, /*times=*/1);
  expect_error([&] { resolve(); }, ErrorCode::kNetwork, {"sha256", model_etag()});
  EXPECT_FALSE(has_blob(model_etag()));
  EXPECT_FALSE(fs::exists(storage_ + "/blobs/" + model_etag() + ".incomplete"));
  expect_consistent_cache();
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  expect_consistent_cache();
}

TEST_F(HubTest, KilledMidDownloadThenRerunResumes) {
  // The child receives 1 MiB of the weights, then the server goes silent; we SIGKILL it there.
  hub_.set_fault(Fault::kStall, /*times=*/-1, /*fault_bytes=*/1 << 20, /*stall_ms=*/20000);
  const std::string incomplete = storage_ + "/blobs/" + model_etag() + ".incomplete";
  const pid_t child = spawn_fetch(kRepo);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::error_code ec;
  while (!(fs::exists(incomplete, ec) && fs::file_size(incomplete, ec) >= (1u << 20)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(fs::file_size(incomplete, ec), 1u << 20);
  kill(child, SIGKILL);
  EXPECT_EQ(wait_exit(child), 128 + SIGKILL);
  EXPECT_FALSE(has_blob(model_etag()));
  EXPECT_FALSE(fs::exists(storage_ + "/refs/main"));
  expect_consistent_cache();

  hub_.set_fault(Fault::kNone);
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  bool resumed = false;
  for (const auto& entry : hub_.log()) resumed |= entry.find("bytes=1048576-") != std::string::npos;
  EXPECT_TRUE(resumed) << "the rerun must resume the killed download";
  expect_consistent_cache();
}

TEST_F(HubTest, TwoProcessesAtOnceBothSucceedWithOneCopy) {
  hub_.set_fault(Fault::kSlow);  // long enough for the two to overlap
  const pid_t a = spawn_fetch(kRepo);
  const pid_t b = spawn_fetch(kRepo);
  EXPECT_EQ(wait_exit(a), 0);
  EXPECT_EQ(wait_exit(b), 0);
  EXPECT_EQ(cdn_gets(), 1) << "the second process must wait for the first one's blob";
  int blobs = 0;
  for (const auto& entry : fs::directory_iterator(storage_ + "/blobs")) {
    ++blobs;
    EXPECT_EQ(entry.path().extension(), "") << entry.path();
  }
  EXPECT_EQ(blobs, static_cast<int>(hub_.files(kCommitMain).size()));
  expect_consistent_cache();
  const int requests = hub_.request_count();
  EXPECT_TRUE(hub::is_complete_model_folder(resolve(), api::model_layout()));
  EXPECT_EQ(hub_.request_count(), requests);
}

}  // namespace
}  // namespace zeroshot::testing
