// The Hugging Face hub cache, laid out exactly as huggingface_hub (file_download.py) lays it out:
//
//   <cache>/models--{org}--{name}/
//     blobs/<etag>                    file contents, named by normalised ETag (git sha1 or sha256)
//     blobs/<etag>.incomplete         a download in progress (resumed with Range)
//     snapshots/<commit>/<file>       relative symlink "../../blobs/<etag>"
//     refs/<revision>                 the commit hash, no newline (never for commit-hash revisions)
//     .no_exist/<commit>/<file>       empty: the file is known to be absent at that commit
//   <cache>/.locks/models--{org}--{name}/<etag>.lock   flock()ed while the blob is downloaded
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/model_files.h"

namespace zeroshot::hub {

// What scan_cache finds; src/api/hub.cc maps these to the public zeroshot::CachedModel.
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

// 40 lower-case hex digits (huggingface_hub's REGEX_COMMIT_HASH).
bool is_commit_hash(std::string_view revision);
// "name" or "org/name": letters, digits, '-', '_', '.'; no "--" or ".."; at most 96 characters
// (huggingface_hub's validate_repo_id).
bool is_valid_repo_id(std::string_view repo);
// A branch, tag or commit usable as a refs/ path: no "..", no empty or leading-dot components.
bool is_valid_revision(std::string_view revision);
// "org/name" -> "models--org--name".
std::string repo_folder_name(std::string_view repo);
// Strips a weak "W/" prefix and quotes: W/"abc" -> abc (huggingface_hub's _normalize_etag).
std::string normalize_etag(std::string_view etag);

class RepoCache {
 public:
  RepoCache(std::string cache_dir, std::string repo);

  const std::string& cache_dir() const { return cache_dir_; }
  const std::string& storage() const { return storage_; }  // <cache>/models--org--name
  std::string blob_path(const std::string& etag) const;
  std::string incomplete_path(const std::string& etag) const;
  std::string lock_path(const std::string& etag) const;
  std::string snapshot_dir(const std::string& commit) const;
  std::string pointer_path(const std::string& commit, const std::string& file) const;
  std::string no_exist_path(const std::string& commit, const std::string& file) const;
  std::string ref_path(const std::string& revision) const;

  // The commit of `revision`: itself for a commit hash, else the content of refs/<revision>.
  std::optional<std::string> commit_for(const std::string& revision) const;
  // refs/<revision> = commit (no newline), written atomically; nothing for commit-hash revisions.
  void write_ref(const std::string& revision, const std::string& commit) const;
  // snapshots/<commit>/<file> -> relative path to blobs/<etag>, replaced atomically.
  void link_snapshot(const std::string& commit, const std::string& file,
                     const std::string& etag) const;
  void mark_no_exist(const std::string& commit, const std::string& file) const;
  bool known_missing(const std::string& commit, const std::string& file) const;

 private:
  std::string cache_dir_;
  std::string repo_;
  std::string storage_;
};

// A folder that holds config.json and meets every need of `files` (symlinks must resolve).
bool is_complete_model_folder(const std::string& folder, const ModelFiles& files);
// The same with the files `layout` names for the folder's config.json (false without one);
// throws what layout.files_for throws.
bool is_complete_model_folder(const std::string& folder, const ModelLayout& layout);
// The first need of `files` that `folder` does not meet, or nullptr.
const FileNeed* unmet_need(const std::string& folder, const ModelFiles& files);

// Every models--* entry of the cache (datasets and spaces are skipped), sorted by repo id.
std::vector<CachedModel> scan_cache(const std::string& cache_dir);

// Creates `path` and its parents; throws Error(kIo) naming it on failure.
void make_dirs(const std::string& path);

}  // namespace zeroshot::hub
