// A float32 matrix [n, dim] in NumPy's .npy format (v1.0) that grows a row at a time and stays
// correct under SIGKILL: the header has a fixed size (128 bytes), rows are written after it, and
// the header's row count is rewritten at each sync. A reopened file keeps its whole rows (a torn
// last row is cut) and the caller cuts it further to the rows its index records. np.load reads
// the file at any sync point; at the end of a run the header names every row.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace zeroshot::cli {

class NpyRows {
 public:
  static constexpr std::uint64_t kHeaderBytes = 128;
  // Opens or creates path for rows of dim floats. An existing non-empty file needs resume (else
  // CLI::ValidationError naming flag) and must hold float32 rows of the same dim.
  NpyRows(std::string path, std::uint64_t dim, bool resume, const std::string& flag);
  ~NpyRows();
  NpyRows(const NpyRows&) = delete;
  NpyRows& operator=(const NpyRows&) = delete;

  std::uint64_t rows() const { return rows_; }
  // Keeps the first n rows (n <= rows()).
  void keep_first(std::uint64_t n);
  void append(std::span<const float> row);  // [dim]
  // fsync the rows, then rewrite the header with their count and fsync again.
  void sync();

 private:
  void open_and_recover(bool resume, const std::string& flag);
  void write_header();
  std::string path_;
  std::uint64_t dim_;
  std::uint64_t rows_ = 0;
  int fd_ = -1;
};

}  // namespace zeroshot::cli
