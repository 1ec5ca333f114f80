// zeroshot: models from the Hugging Face hub, cached exactly as Python's huggingface_hub caches
// them (a model downloaded by either is found by the other). See docs/HUB.md and
// docs/ENVIRONMENT.md.
//
//   // Prefetch (what `zeroshot download openai/clip-vit-base-patch32` does):
//   std::string folder = zeroshot::download_model("openai/clip-vit-base-patch32", "main",
//       [](const zeroshot::DownloadProgress& p) { std::fprintf(stderr, "%s %llu/%llu\n",
//           p.file.c_str(), (unsigned long long)p.done, (unsigned long long)p.total); });
//   for (const auto& m : zeroshot::list_cached_models()) std::puts(m.repo.c_str());
//
// Environment: HF_HUB_CACHE / HF_HOME (cache location), HF_ENDPOINT, HF_TOKEN (or the token file),
// HF_HUB_OFFLINE=1 (never touch the network), HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT.
//
// Thread safety: every function may be called from any thread; concurrent downloads of the same
// repo (threads or processes, zeroshot or huggingface_hub) serialise on a lock file per blob.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace zeroshot {

// One file's download progress. `total` is the file's size from the hub (0 when unknown); `done`
// counts bytes already in the cache, so a resumed download starts above 0.
struct DownloadProgress {
  std::string file;  // name inside the repo, e.g. "model.safetensors"
  uint64_t done = 0;
  uint64_t total = 0;
};
// Called from the downloading thread as bytes arrive; throwing from it cancels the download (the
// partial file is kept and resumed next time).
using ProgressCallback = std::function<void(const DownloadProgress&)>;

// Asks the hub for `revision` (branch, tag or 40-hex commit) of `repo` ("org/name"), downloads the
// files a CLIP model needs that are not cached yet, records the revision, and returns the snapshot
// folder. With HF_HUB_OFFLINE=1 it returns the cached snapshot or throws Error(kOffline).
// Throws zeroshot::Error: kInvalidArgument (malformed id or revision), kHubNotFound,
// kHubUnauthorized, kNetwork, kModelInvalid (only pytorch_model.bin, sharded weights), kIo.
std::string download_model(const std::string& repo, const std::string& revision = "main",
                           ProgressCallback progress = {});

struct CachedRevision {
  std::string commit;             // 40-hex commit hash (the snapshot folder's name)
  std::vector<std::string> refs;  // branches/tags in refs/ that point at it ("main"), maybe none
  std::string path;               // the snapshot folder
};

struct CachedModel {
  std::string repo;                       // "org/name"
  std::string path;                       // <cache>/models--org--name
  uint64_t size_on_disk = 0;              // bytes of complete blobs
  std::vector<CachedRevision> revisions;  // sorted by commit
};

// Models in the hub cache (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub),
// sorted by repo id; an absent cache folder gives an empty list.
std::vector<CachedModel> list_cached_models();

// The hub cache folder the functions above use.
std::string hub_cache_dir();

// zeroshot's prepared-weights cache: on CPUs where oneDNN's fastest kernels take the weights in a
// blocked layout (AVX-512), each model tower's float32 weights are packed into that layout on
// first use and kept in a file, which later processes map instead of packing again (a one-shot
// `classify` then starts in a fraction of the time). The folder: ZEROSHOT_PREPARED_CACHE, else
// $XDG_CACHE_HOME/zeroshot/prepared, else ~/.cache/zeroshot/prepared; ZEROSHOT_PREPARED_CACHE=off
// turns it off. Files are keyed by the weights file (its hub content hash, else its path, size and
// times), the tower, the precision, oneDNN's version and the CPU's ISA; written whole and renamed
// into place, checked (xxHash) before use; any of them may be deleted at any time.
struct PreparedWeights {
  std::string path;
  uint64_t size_on_disk = 0;
  std::string source;      // the model.safetensors it was prepared from
  std::string tower;       // "text" or "vision"
  std::string precision;   // "f32", or "int8 layers"
  std::string signature;   // oneDNN's version and the ISA it packed for
  bool stale = false;      // unreadable, or its source is gone or changed: never used again
  bool temporary = false;  // being written (or left by a killed process)
};

// The prepared-weights cache folder, or "" when ZEROSHOT_PREPARED_CACHE turns it off.
std::string prepared_cache_dir();
// Its files, sorted by path (empty when it is off or absent).
std::vector<PreparedWeights> list_prepared_weights();
// Removes its files (only the stale ones with stale_only; temporary files only when their writer
// is gone); returns the bytes freed. Safe while other processes use the cache.
uint64_t clear_prepared_weights(bool stale_only = false);

// By default a model writes its prepared weights as it packs them, on first use: a long-lived
// process (a server, a notebook) pays that once. A short-lived one should not wait for the disk:
// after defer_prepared_weights(), towers packed from then on keep their packed weights in memory
// (no copy: the model's own, held until written even after the model is destroyed), and
// write_prepared_weights_in_background() writes them from a child process just before this one
// exits (the zeroshot CLI does both). The child runs at low priority in a session of its own,
// its standard streams on /dev/null; it holds a lock on the cache folder while it writes (one
// writer at a time; the files of a process that finds it held are left to a later run), and it
// is not waited for: call it last, with the process's other threads idle. Returns whether a
// child was started (false: nothing deferred, another writer at work, or fork failed).
void defer_prepared_weights();
bool write_prepared_weights_in_background();

}  // namespace zeroshot
