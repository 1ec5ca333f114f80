// Where prepared weights live and what the cache holds: the folder (ZEROSHOT_PREPARED_CACHE, else
// the XDG cache directory), the key of one tower's file, and listing and clearing for
// `zeroshot cache`. Files are written whole under a temporary name and renamed into place, so a
// file under its final name is complete or was damaged later (each slot carries a checksum);
// deleting any of them at any time is safe: a process that maps one keeps its pages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zeroshot::weights_cache {

// What makes a safetensors file's packed weights valid for reuse, as text: the content hash the
// Hugging Face cache names its blob by (models from the hub), else the file's real path, device,
// inode, size, modification and change times (any rewrite changes one of them). nullopt when the
// file cannot be read (no cache then).
std::optional<std::string> source_identity(const std::string& path);

// The file name (without folder) of one tower's prepared weights: a hash of everything the
// packed bytes depend on (format version, source identity, tower, precision, oneDNN's version
// and ISA).
std::string file_name(const std::string& identity, const std::string& tower,
                      const std::string& precision, const std::string& signature);

// One file of the cache, as `zeroshot cache ls` shows it.
struct Entry {
  std::string path;
  std::uint64_t bytes = 0;
  std::string source;     // the safetensors file it was prepared from
  std::string tower;      // "text", "vision"
  std::string precision;  // "f32"
  std::string signature;  // oneDNN's version and ISA
  // Unreadable header (damaged or not ours), or its source is gone or changed: never used again.
  bool stale = false;
  bool temporary = false;  // being written (or left by a process that was killed)
};

// The cache folder's files, sorted by path; empty when the folder does not exist.
std::vector<Entry> list(const std::string& folder);

// Removes the prepared weights of `folder` (all, or with stale_only those `list` marks stale, and
// temporary files whose writer is gone). Returns the bytes freed.
std::uint64_t clear(const std::string& folder, bool stale_only);

}  // namespace zeroshot::weights_cache
