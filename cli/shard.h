// Input selection for batch runs: positional arguments -> image paths (folders, @lists), and the
// deterministic share of them that one task of a sharded run takes (--shard I/N, or the Slurm job
// array / Kubernetes Indexed Job variables). See docs/BATCH.md.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zeroshot::cli {

// Positional arguments -> image paths: a folder gives its image files (by extension, sorted, not
// recursive), @FILE gives FILE's non-empty lines, anything else is an image path as is (a missing
// file is reported for that image, in order, like a bad image).
std::vector<std::string> expand_inputs(const std::vector<std::string>& args);
// Only the @FILE arguments expanded (to their lines); folders and paths as they are (for
// `zeroshot index`, whose library call scans folders itself, recursively).
std::vector<std::string> expand_lists(const std::vector<std::string>& args);

// One task's share: inputs whose shard_of(path, count) == index.
struct Shard {
  std::uint64_t index = 0;
  std::uint64_t count = 1;
  std::string source;  // where it came from, for messages: "--shard", "SLURM_ARRAY_TASK_ID", ...
};

// 64-bit FNV-1a of the path string as given (or as a folder/@list expanded it), mod count. A
// path's shard depends on nothing but its own string and the count, so adding or removing other
// files never moves it.
std::uint64_t shard_of(std::string_view path, std::uint64_t count);

// --shard I/N and --shards N.
struct ShardFlags {
  std::string shard;         // "I/N"
  std::uint64_t shards = 0;  // N, with the index from JOB_COMPLETION_INDEX or the Slurm array
  void add_to(CLI::App& command);
  // The shard to take: --shard, else --shards N with the index JOB_COMPLETION_INDEX (else
  // SLURM_ARRAY_TASK_ID as it is), else the Slurm array's task (SLURM_ARRAY_TASK_ID minus
  // SLURM_ARRAY_TASK_MIN, over SLURM_ARRAY_TASK_STEP) of SLURM_ARRAY_TASK_COUNT, else all
  // inputs (nullopt); JOB_COMPLETION_INDEX without --shards is an error (each pod of an Indexed
  // Job would take every input). Bad
  // values throw CLI::ValidationError naming the flag or variable (exit code 2).
  std::optional<Shard> resolve() const;
};

// The inputs of `shard`, in their order; duplicates after the first dropped (a path is one
// result, whichever task or rerun records it).
std::vector<std::string> select_shard(const std::vector<std::string>& paths,
                                      const std::optional<Shard>& shard);

}  // namespace zeroshot::cli
