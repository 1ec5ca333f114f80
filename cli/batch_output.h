// Where the results of a batch run go: stdout, or (--output FILE) a file that grows by whole
// records, so that a run killed at any moment (SIGKILL included) is continued by a rerun with
// --resume, which skips the inputs FILE already has. See docs/BATCH.md ("How resume works").
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "batch_runner.h"
#include "shard.h"

namespace zeroshot::cli {

// --output FILE and --resume.
struct OutputFlags {
  std::string output;  // empty: stdout
  bool resume = false;
  void add_to(CLI::App& command, const char* what);
  // Usage checks (--resume needs --output); throws CLI::ValidationError.
  void check() const;
};

// One CSV field as RFC 4180 writes it: quoted when it holds a comma, quote, CR, LF or an edge
// space, quotes doubled.
std::string csv_field(std::string_view text);
// The first field of a CSV record (quotes undone); nullopt if the record is malformed.
std::optional<std::string> csv_first_field(std::string_view record);

// Records (lines; for CSV, newlines inside quotes do not end one) appended to a file, each with
// one write(2) of the whole record and its "\n", or printed on stdout.
class RecordFile {
 public:
  struct Options {
    std::string path;     // empty: stdout (no resume)
    bool resume = false;  // continue a non-empty file; without it a non-empty file is an error
    bool csv = false;     // records are CSV (quoted fields may hold newlines)
    std::string header;   // CSV: the first record; a resumed file must have the same
    // CSV: what every header of this command starts with ("image,label,score,error"): a first
    // record that starts with it but is not `header` is this command's file made with other
    // arguments (a usage error, exit code 2); one that does not is not this command's file
    // (Error kInvalidArgument, exit code 1). Empty: any other header is a usage error.
    std::string header_kind;
    // The input a complete record is the result of; nullopt: not a record of ours (a torn last
    // record, or corruption: not the last record, it refuses the file with an Error, exit code
    // 1). May throw CLI::ValidationError to refuse a record of this command made with other
    // arguments (other labels: exit code 2).
    std::function<std::optional<std::string>(std::string_view record)> key_of;
    std::string flag = "--output";  // named in messages
  };
  explicit RecordFile(Options options);
  ~RecordFile();
  RecordFile(const RecordFile&) = delete;
  RecordFile& operator=(const RecordFile&) = delete;

  // The number of records (results) earlier runs left in the file (resume).
  std::size_t recorded() const { return recorded_; }
  bool has(const std::string& key) const { return done_.count(key) != 0; }
  // Bytes of the file's last record cut away as torn when it was opened (0 if none).
  std::uint64_t truncated_bytes() const { return truncated_; }

  // Keeps only the first n recorded records (after the header); the rest are cut off.
  void keep_first(std::size_t n);
  // Appends one record (without its trailing newline).
  void append(std::string_view record);
  // Makes what was appended durable: fsync for a file, flush for stdout.
  void sync();

 private:
  void open_and_recover();
  // Calls fn(record, offset after its "\n") for each complete record from offset `from` on.
  void scan(std::uint64_t from, const std::function<void(std::string_view, std::uint64_t)>& fn);

  Options options_;
  int fd_ = -1;
  std::size_t recorded_ = 0;
  std::vector<std::uint64_t> ends_;  // end offset of each recorded record
  std::uint64_t header_end_ = 0;
  std::unordered_set<std::string> done_;
  std::uint64_t truncated_ = 0;
};

// The batch-run flags of `classify -l`: --shard/--shards, --output/--resume, --format.
// For a run that is not a batch run: any batch flag given (--output, --resume, --shard, --shards,
// a --format other than jsonl) is a usage error naming what the flag `needs`.
void reject_batch_flags(const ShardFlags& shard, const OutputFlags& output,
                        const std::string& format, const std::string& needs);

struct BatchFlags {
  ShardFlags shard;
  OutputFlags output;
  std::string format = "jsonl";  // jsonl | csv
  void add_to(CLI::App& command);
  // For a run that is not a batch run: any of these flags is a usage error naming `needs`.
  void reject_unless_batch(const std::string& needs) const;
};

// The JSON lines that `classify -l` builds ({"image": P, "results": [{"label", "score"}...]} or
// {"image": P, "error": {"code", "message"}}), written as --format says to stdout or --output.
// CSV: the header "image,label,score,error,LABEL1,LABEL2,...", then per image its best label and
// score, the error ("code: message", empty on success) and each label's score, in the order the
// labels were given.
class ResultWriter {
 public:
  ResultWriter(const BatchFlags& flags, std::vector<std::string> labels);
  // This task's shard (--shard, --shards or the schedulers' variables).
  const std::optional<Shard>& shard() const { return shard_; }
  // What --output has when resuming (for pending_inputs, batch_runner.h); nullopt otherwise.
  std::optional<Resumed> resumed() const;
  void write(const nlohmann::json& line);
  // A checkpoint after each batch: what is written survives a crash of the machine.
  void sync() { file_->sync(); }

 private:
  const BatchFlags& flags_;
  std::vector<std::string> labels_;
  std::optional<Shard> shard_;
  std::unique_ptr<RecordFile> file_;
};

}  // namespace zeroshot::cli
