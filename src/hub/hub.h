// Repo ids to local model folders: local folder -> Hugging Face cache -> download (docs/HUB.md).
#pragma once

#include <string>
#include <vector>

#include "zeroshot/hub.h"

namespace zeroshot::hub {

struct ResolveOptions {
  std::string repo;               // a local folder, or a hub id "org/name"
  std::string revision = "main";  // branch, tag or 40-hex commit hash
  ProgressCallback progress;      // optional, per file
};

// The files of a CLIP model that are fetched, in order. config.json, model.safetensors and
// preprocessor_config.json are required; the tokenizer files are optional one by one (the
// tokenizer needs tokenizer.json or vocab.json + merges.txt), and a 404 for one is recorded in
// .no_exist/<commit>/ as huggingface_hub does.
const std::vector<std::string>& model_files();

// A folder holding config.json, model.safetensors, preprocessor_config.json and the tokenizer
// files. An existing directory is returned as is; otherwise `repo` must be a hub id: a complete
// cached snapshot of `revision` is returned without any request; else (unless HF_HUB_OFFLINE)
// the missing files are downloaded. Throws Error: kModelNotFound (neither a folder nor a repo id),
// kOffline (offline and not cached), and everything download_snapshot throws.
std::string resolve_model_folder(const ResolveOptions& options);

// Asks the hub what `revision` is now and fetches what the cache lacks (HF_HUB_OFFLINE: the
// cached snapshot, else kOffline). Returns the snapshot folder.
std::string download_snapshot(const ResolveOptions& options);

}  // namespace zeroshot::hub
