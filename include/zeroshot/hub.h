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

}  // namespace zeroshot
