#include "shard.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unordered_set>

#include "zeroshot/image.h"

namespace zeroshot::cli {
namespace {

namespace fs = std::filesystem;

// A whole non-negative decimal number ("07" is 7; "", "-1", "3x", " 3" are not).
std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// An environment variable's value, unset when empty (as docs/ENVIRONMENT.md says of all of them).
std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::uint64_t env_number(const char* name, const std::string& value) {
  auto n = parse_count(value);
  if (!n) {
    throw CLI::ValidationError(name, "is '" + value + "', expected a whole number >= 0");
  }
  return *n;
}

Shard checked(Shard shard) {
  if (shard.count == 0) throw CLI::ValidationError(shard.source, "the shard count must be >= 1");
  if (shard.index >= shard.count) {
    throw CLI::ValidationError(
        shard.source, "shard index " + std::to_string(shard.index) + " is out of range: with " +
                          std::to_string(shard.count) + " shards it must be 0 to " +
                          std::to_string(shard.count - 1));
  }
  return shard;
}

// The Slurm job array's task as an index from 0: (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
// SLURM_ARRAY_TASK_STEP, so --array=1-8 and --array=0-14:2 work as well as --array=0-7.
std::optional<Shard> slurm_shard() {
  auto id = env("SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  Shard shard;
  shard.source = "SLURM_ARRAY_TASK_ID";
  const std::uint64_t task = env_number("SLURM_ARRAY_TASK_ID", *id);
  const std::uint64_t min =
      env_number("SLURM_ARRAY_TASK_MIN", env("SLURM_ARRAY_TASK_MIN").value_or("0"));
  const std::uint64_t step =
      env_number("SLURM_ARRAY_TASK_STEP", env("SLURM_ARRAY_TASK_STEP").value_or("1"));
  if (task < min || step == 0 || (task - min) % step != 0) {
    throw CLI::ValidationError("SLURM_ARRAY_TASK_ID",
                               "is " + *id + ", not on the array's range (SLURM_ARRAY_TASK_MIN " +
                                   std::to_string(min) + ", SLURM_ARRAY_TASK_STEP " +
                                   std::to_string(step) + ")");
  }
  shard.index = (task - min) / step;
  auto count = env("SLURM_ARRAY_TASK_COUNT");
  if (!count) {
    throw CLI::ValidationError("SLURM_ARRAY_TASK_COUNT",
                               "is not set but SLURM_ARRAY_TASK_ID is; pass --shard I/N");
  }
  shard.count = env_number("SLURM_ARRAY_TASK_COUNT", *count);
  return shard;
}

}  // namespace

namespace {

// @FILE's non-empty lines (a trailing \r dropped), appended to `paths`.
void read_list(const std::string& arg, std::vector<std::string>& paths) {
  std::ifstream in(arg.substr(1));
  if (!in) throw CLI::ValidationError(arg, "cannot read the list file " + arg.substr(1));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) paths.push_back(line);
  }
}

}  // namespace

std::vector<std::string> expand_lists(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const std::string& arg : args) {
    if (arg.size() > 1 && arg[0] == '@') {
      read_list(arg, paths);
    } else {
      paths.push_back(arg);
    }
  }
  return paths;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const std::string& arg : args) {
    if (arg.size() > 1 && arg[0] == '@') {
      read_list(arg, paths);
      continue;
    }
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(arg, ec)) {
        if (entry.is_regular_file(ec) && has_image_extension(entry.path().string()))
          found.push_back(entry.path().string());
      }
      std::sort(found.begin(), found.end());
      paths.insert(paths.end(), found.begin(), found.end());
      continue;
    }
    paths.push_back(arg);
  }
  return paths;
}

std::uint64_t shard_of(std::string_view path, std::uint64_t count) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a, 64-bit offset basis and prime
  for (unsigned char c : path) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return count <= 1 ? 0 : hash % count;
}

void ShardFlags::add_to(CLI::App& command) {
  auto* one =
      command
          .add_option(
              "--shard", shard,
              "Take shard I of N (I from 0 to N-1): the inputs whose path hashes to I. Default: "
              "SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT in a Slurm job array")
          ->type_name("I/N");
  command
      .add_option("--shards", shards,
                  "Number of shards, the index coming from JOB_COMPLETION_INDEX (Kubernetes "
                  "Indexed Job) or the Slurm array")
      ->check(CLI::PositiveNumber)
      ->type_name("N")
      ->excludes(one);
}

std::optional<Shard> ShardFlags::resolve() const {
  if (!shard.empty()) {
    const auto slash = shard.find('/');
    auto index = parse_count(std::string_view(shard).substr(0, slash));
    auto count = slash == std::string::npos
                     ? std::nullopt
                     : parse_count(std::string_view(shard).substr(slash + 1));
    if (!index || !count) {
      throw CLI::ValidationError("--shard",
                                 "is '" + shard + "', expected I/N such as 0/4 (I from 0 to N-1)");
    }
    return checked(Shard{*index, *count, "--shard"});
  }
  if (shards > 0) {
    if (auto index = env("JOB_COMPLETION_INDEX")) {
      return checked(
          Shard{env_number("JOB_COMPLETION_INDEX", *index), shards, "JOB_COMPLETION_INDEX"});
    }
    // The Slurm task id as it is: `sbatch --array=5,9` with --shards 16 redoes shards 5 and 9.
    if (auto id = env("SLURM_ARRAY_TASK_ID")) {
      return checked(Shard{env_number("SLURM_ARRAY_TASK_ID", *id), shards, "SLURM_ARRAY_TASK_ID"});
    }
    throw CLI::ValidationError("--shards",
                               "needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or "
                               "SLURM_ARRAY_TASK_ID for the index; else pass --shard I/N");
  }
  if (auto slurm = slurm_shard()) return checked(*slurm);
  // In an Indexed Job every pod would otherwise take every input.
  if (auto index = env("JOB_COMPLETION_INDEX")) {
    throw CLI::ValidationError("--shards", "JOB_COMPLETION_INDEX is " + *index +
                                               " (a Kubernetes Indexed Job) but the shard count "
                                               "is not given: pass --shards N (the Job's "
                                               "completions), or --shard 0/1 for every input");
  }
  return std::nullopt;
}

std::vector<std::string> select_shard(const std::vector<std::string>& paths,
                                      const std::optional<Shard>& shard) {
  std::vector<std::string> selected;
  std::unordered_set<std::string> seen;
  for (const auto& path : paths) {
    if (shard && shard_of(path, shard->count) != shard->index) continue;
    if (seen.insert(path).second) selected.push_back(path);
  }
  return selected;
}

}  // namespace zeroshot::cli
