// Repo ids to local model folders: local folder -> Hugging Face cache -> download (docs/HUB.md).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hub/model_files.h"

namespace zeroshot::hub {

// One file's download progress: `total` is the file's size from the hub (0 when unknown), `done`
// counts the bytes already in the cache (a resumed download starts above 0). The api maps it to
// the public zeroshot::DownloadProgress (src/api/hub_progress.h).
struct DownloadProgress {
  std::string file;  // name inside the repo, e.g. "model.safetensors"
  uint64_t done = 0;
  uint64_t total = 0;
};
// Called from the downloading thread as bytes arrive; an exception thrown from it cancels the
// download (the partial file is kept and resumed next time).
using ProgressCallback = std::function<void(const DownloadProgress&)>;

struct ResolveOptions {
  std::string repo;               // a local folder, or a hub id "org/name"
  std::string revision = "main";  // branch, tag or 40-hex commit hash
  ProgressCallback progress;      // optional, per file
  ModelLayout layout;             // what a complete folder holds, by its config.json
};

// A folder holding config.json and what layout.files_for says for it. An existing directory is
// returned as is; otherwise `repo` must be a hub id: a complete cached snapshot of `revision` is
// returned without any request; else (unless HF_HUB_OFFLINE) the missing files are downloaded.
// Throws Error: kModelNotFound (neither a folder nor a repo id), kOffline (offline and not
// cached), what files_for throws, and everything download_snapshot throws.
std::string resolve_model_folder(const ResolveOptions& options);

// Asks the hub what `revision` is now and fetches what the cache lacks (HF_HUB_OFFLINE: the
// cached snapshot, else kOffline): config.json first, then, in order, the files layout.files_for
// names for it. Any of them may be absent (a 404 is recorded in .no_exist/<commit>/ as
// huggingface_hub does) unless it is the one form of a need: then the download stops at once,
// naming an unread form the repo has instead (pytorch_model.bin) if any. A need none of whose
// forms arrived is an error at the end. Returns the snapshot folder.
std::string download_snapshot(const ResolveOptions& options);

}  // namespace zeroshot::hub
