#include "batch_output.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <unordered_map>

#include "zeroshot/error.h"

namespace zeroshot::cli {
namespace {

Error io_error(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kIo, path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

void OutputFlags::add_to(CLI::App& command, const char* what) {
  command.add_option("-o,--output", output, what)->type_name("FILE");
  command.add_flag("--resume", resume,
                   "Continue --output FILE: skip the inputs it already has, redo a torn last line");
}

void OutputFlags::check() const {
  if (resume && output.empty())
    throw CLI::ValidationError("--resume", "needs --output FILE (the file to continue)");
}

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string field = "\"";
  for (char c : text) field += c == '"' ? std::string("\"\"") : std::string(1, c);
  return field + "\"";
}

std::optional<std::string> csv_first_field(std::string_view record) {
  if (record.empty() || record.front() != '"') {
    const auto comma = record.find(',');
    const auto field = record.substr(0, comma);
    if (field.find('"') != std::string_view::npos) return std::nullopt;
    return std::string(field);
  }
  std::string field;
  for (std::size_t i = 1; i < record.size(); ++i) {
    if (record[i] != '"') {
      field += record[i];
    } else if (i + 1 < record.size() && record[i + 1] == '"') {
      field += '"';
      ++i;
    } else {
      if (i + 1 < record.size() && record[i + 1] != ',') return std::nullopt;
      return field;
    }
  }
  return std::nullopt;  // no closing quote
}

RecordFile::RecordFile(Options options) : options_(std::move(options)) {
  if (options_.path.empty()) {
    if (!options_.header.empty()) append(options_.header);
    return;
  }
  try {
    open_and_recover();
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

void RecordFile::open_and_recover() {
  const std::string& path = options_.path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw io_error(path, "cannot open the output file");
  // One writer per file: a second task given the same --output would interleave its records.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    throw Error(ErrorCode::kIo, path +
                                    ": another process is writing this output file; give each "
                                    "task (shard) its own " +
                                    options_.flag);
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw io_error(path, "cannot stat the output file");
  if (st.st_size > 0 && !options_.resume) {
    throw CLI::ValidationError(options_.flag, path +
                                                  " exists and is not empty: add --resume to "
                                                  "continue it (the inputs it has are skipped), "
                                                  "or remove it to start again");
  }
  // Stream the file (it may hold millions of records); only the record being read is held.
  const bool has_header = !options_.header.empty();
  std::uint64_t keep = 0;  // bytes to keep: the header and every complete record of ours
  std::uint64_t count = 0;
  std::optional<std::uint64_t> unreadable;  // an unparsable record: fatal unless it is the last
  scan(0, [&](std::string_view record, std::uint64_t end) {
    ++count;
    if (unreadable) {
      throw Error(ErrorCode::kInvalidArgument,
                  path + ": record " + std::to_string(*unreadable) +
                      " is not a result of this command (was the file written by another "
                      "program?); use a new " +
                      options_.flag + " file");
    }
    if (count == 1 && has_header) {
      const std::string& kind = options_.header_kind;
      if (record != options_.header && !kind.empty() &&
          !(record.substr(0, kind.size()) == kind &&
            (record.size() == kind.size() || record[kind.size()] == ','))) {
        // Not this command's file at all: damaged, or another program's (not a usage error).
        throw Error(ErrorCode::kInvalidArgument,
                    path + " has the columns '" + std::string(record) +
                        "', not those of this command's CSV ('" + kind +
                        ",LABEL...'): it is not a result of this command (was the file written "
                        "by another program?); use a new " +
                        options_.flag + " file");
      }
      if (record != options_.header) {
        throw CLI::ValidationError(
            options_.flag,
            path + " has the columns '" + std::string(record) + "' but this run writes '" +
                options_.header +
                "' (other labels?); resume it with the same labels, or use a new file");
      }
      header_end_ = keep = end;
      return;
    }
    auto key = options_.key_of(record);
    if (!key) {
      unreadable = count;  // redone if it is the last, like a torn one
      return;
    }
    ++recorded_;
    done_.insert(std::move(*key));
    ends_.push_back(end);
    keep = end;
  });
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (keep < size) {
    truncated_ = size - keep;
    if (::ftruncate(fd_, static_cast<off_t>(keep)) != 0)
      throw io_error(path, "cannot cut the torn last record");
    if (::fsync(fd_) != 0) throw io_error(path, "cannot sync");
  }
  if (keep == 0 && has_header) append(options_.header);
}

void RecordFile::scan(std::uint64_t from,
                      const std::function<void(std::string_view, std::uint64_t)>& fn) {
  std::vector<char> buffer(1 << 20);
  std::string record;
  bool quoted = false;
  std::uint64_t offset = from;
  for (;;) {
    const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw io_error(options_.path, "cannot read the output file");
    if (n == 0) return;  // what is left in `record` is a torn tail
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buffer[static_cast<std::size_t>(i)];
      ++offset;
      if (options_.csv && c == '"') quoted = !quoted;
      if (c == '\n' && !quoted) {
        fn(record, offset);
        record.clear();
      } else {
        record += c;
      }
    }
  }
}

RecordFile::~RecordFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RecordFile::keep_first(std::size_t n) {
  if (n >= recorded_ || fd_ < 0) return;
  const std::uint64_t end = n == 0 ? header_end_ : ends_[n - 1];
  scan(end, [&](std::string_view record, std::uint64_t) {
    if (auto key = options_.key_of(record)) done_.erase(*key);
  });
  recorded_ = n;
  ends_.resize(n);
  if (::ftruncate(fd_, static_cast<off_t>(end)) != 0)
    throw io_error(options_.path, "cannot truncate");
  if (::fsync(fd_) != 0) throw io_error(options_.path, "cannot sync");
}

void RecordFile::append(std::string_view record) {
  std::string line(record);
  line += '\n';
  if (fd_ < 0) {
    std::cout << line;
    return;
  }
  // One write(2) of the whole line: a kill leaves either all of it or a torn tail without its
  // "\n", which the next --resume cuts away. (A short write, as on a full disk, is continued.)
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw io_error(options_.path, "cannot write");
    done += static_cast<std::size_t>(n);
  }
}

void RecordFile::sync() {
  if (fd_ < 0) {
    std::cout.flush();
    return;
  }
  if (::fsync(fd_) != 0) throw io_error(options_.path, "cannot sync");
}

void BatchFlags::add_to(CLI::App& command) {
  shard.add_to(command);
  output.add_to(command,
                "Append the results to FILE (whole lines, synced after each batch) instead of "
                "stdout; an existing non-empty FILE needs --resume");
  command
      .add_option("--format", format,
                  "jsonl (one JSON object per image) or csv (header, then "
                  "image,label,score,error and one score column per label)")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();
}

void reject_batch_flags(const ShardFlags& shard, const OutputFlags& output,
                        const std::string& format, const std::string& needs) {
  const char* given = !output.output.empty() ? "--output"
                      : output.resume        ? "--resume"
                      : !shard.shard.empty() ? "--shard"
                      : shard.shards > 0     ? "--shards"
                      : format != "jsonl"    ? "--format"
                                             : nullptr;
  if (given != nullptr) throw CLI::ValidationError(given, "is for batch runs: it needs " + needs);
}

void BatchFlags::reject_unless_batch(const std::string& needs) const {
  reject_batch_flags(shard, output, format, needs);
}

ResultWriter::ResultWriter(const BatchFlags& flags, std::vector<std::string> labels)
    : flags_(flags), labels_(std::move(labels)), shard_(flags.shard.resolve()) {
  flags_.output.check();
  const bool csv = flags_.format == "csv";
  RecordFile::Options options;
  options.path = flags_.output.output;
  options.resume = flags_.output.resume;
  options.csv = csv;
  if (csv) {
    options.header_kind = "image,label,score,error";
    options.header = options.header_kind;
    for (const auto& label : labels_) options.header += "," + csv_field(label);
    options.key_of = [](std::string_view record) { return csv_first_field(record); };
  } else {
    const std::unordered_set<std::string> known(labels_.begin(), labels_.end());
    const std::string path = flags_.output.output;
    options.key_of = [known, path](std::string_view record) -> std::optional<std::string> {
      auto line = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
      if (!line.is_object() || !line.contains("image") || !line["image"].is_string())
        return std::nullopt;
      if (line.contains("results") && line["results"].is_array()) {
        for (const auto& r : line["results"]) {
          if (r.contains("label") && r["label"].is_string() &&
              known.count(r["label"].get<std::string>()) == 0) {
            throw CLI::ValidationError(
                "--resume", path + " has results for the label '" + r["label"].get<std::string>() +
                                "', which this run does not have; resume with the same labels, "
                                "or use a new --output");
          }
        }
      }
      return line["image"].get<std::string>();
    };
  }
  file_ = std::make_unique<RecordFile>(std::move(options));
}

std::optional<Resumed> ResultWriter::resumed() const {
  if (flags_.output.output.empty() || !flags_.output.resume) return std::nullopt;
  const RecordFile* file = file_.get();
  return Resumed{.file = flags_.output.output,
                 .has = [file](const std::string& path) { return file->has(path); },
                 .torn = file_->truncated_bytes() > 0};
}

void ResultWriter::write(const nlohmann::json& line) {
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (flags_.format != "csv") {
    file_->append(line.dump(-1, ' ', false, kReplace));
    return;
  }
  const auto number = [](const nlohmann::json& v) { return v.dump(-1, ' ', false, kReplace); };
  std::string row = csv_field(line["image"].get<std::string>());
  std::unordered_map<std::string, std::string> scores;
  if (line.contains("results") && !line["results"].empty()) {
    const auto& best = line["results"][0];
    row += "," + csv_field(best["label"].get<std::string>()) + "," + number(best["score"]) + ",";
    for (const auto& r : line["results"])
      scores[r["label"].get<std::string>()] = number(r["score"]);
  } else if (line.contains("error")) {
    row += ",,," + csv_field(line["error"]["code"].get<std::string>() + ": " +
                             line["error"]["message"].get<std::string>());
  } else {
    row += ",,,";
  }
  for (const auto& label : labels_) {
    auto it = scores.find(label);
    row += "," + (it == scores.end() ? std::string() : it->second);
  }
  file_->append(row);
}

}  // namespace zeroshot::cli
