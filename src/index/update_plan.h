// What an index update has to do, from a scan of the files named and what the index holds:
// which files are new, which changed (size or mtime differ), how many are unchanged (skipped),
// and which indexed files are gone from the folders scanned. Renames and copies are found later,
// by content hash (Store::vector_for_hash), among the new and changed files.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "index/store.h"

namespace zeroshot::index {

struct ScannedFile {
  std::string path;  // absolute
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct UpdatePlan {
  std::vector<ScannedFile> added;    // not in the index
  std::vector<ScannedFile> changed;  // in the index with another size or mtime: re-embedded
  std::size_t unchanged = 0;         // same size and mtime (a recorded failure too): skipped
  std::vector<std::string> removed;  // indexed below a scanned folder, no longer there
};

// files: every file found now (in the order it should be embedded); folders: the folders scanned
// (absolute), below which an indexed file that was not found is gone. A file named directly is
// never "removed" by a scan of other folders.
UpdatePlan plan_update(const Store& store, std::span<const ScannedFile> files,
                       std::span<const std::string> folders);

}  // namespace zeroshot::index
