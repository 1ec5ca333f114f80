#include "npy_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "zeroshot/error.h"

namespace zeroshot::cli {
namespace {

Error io_error(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kIo, path + ": " + what + ": " + std::strerror(errno));
}

void write_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
               const std::string& path) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw io_error(path, "cannot write");
    bytes += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

NpyRows::NpyRows(std::string path, std::uint64_t dim, bool resume, const std::string& flag)
    : path_(std::move(path)), dim_(dim) {
  try {
    open_and_recover(resume, flag);
  } catch (...) {
    if (fd_ >= 0) ::close(fd_);  // the destructor does not run for a constructor that throws
    throw;
  }
}

void NpyRows::open_and_recover(bool resume, const std::string& flag) {
  static_assert(sizeof(float) == 4 && std::endian::native == std::endian::little);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw io_error(path_, "cannot open");
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw io_error(path_, "cannot stat");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > 0 && !resume) {
    throw CLI::ValidationError(flag, path_ +
                                         " exists and is not empty: add --resume to continue it "
                                         "(the images it has are skipped), or remove it (and its "
                                         "index) to start again");
  }
  if (size >= kHeaderBytes) {
    char header[kHeaderBytes + 1] = {};
    if (::pread(fd_, header, kHeaderBytes, 0) != static_cast<ssize_t>(kHeaderBytes))
      throw io_error(path_, "cannot read");
    unsigned long long n = 0;
    unsigned long long d = 0;
    const char* shape = std::strstr(header + 10, "'shape': (");
    if (std::memcmp(header, "\x93NUMPY\x01\x00", 8) != 0 ||
        std::strstr(header + 10, "'descr': '<f4'") == nullptr || shape == nullptr ||
        std::sscanf(shape, "'shape': (%llu, %llu)", &n, &d) != 2) {
      throw Error(
          ErrorCode::kInvalidArgument,
          path_ + " is not a float32 .npy file written by zeroshot embed; use a new " + flag);
    }
    if (d != dim_) {
      // This command's file, made with another model: the command line disagrees with it (a
      // usage error, as other labels are for classify).
      throw CLI::ValidationError(flag, path_ + " has embeddings of dimension " + std::to_string(d) +
                                           " but this model's have " + std::to_string(dim_) +
                                           " (another model?); resume it with the same --repo, "
                                           "or use a new " +
                                           flag);
    }
    rows_ = (size - kHeaderBytes) / (dim_ * sizeof(float));  // whole rows; a torn one is cut
  }
  keep_first(rows_);  // writes the header (a new file, or one torn inside its header)
}

NpyRows::~NpyRows() {
  if (fd_ >= 0) ::close(fd_);
}

void NpyRows::write_header() {
  // NumPy format 1.0: magic, version, little-endian uint16 length of the dict text, which is
  // padded with spaces and ends in "\n" so that the data starts at a multiple of 64 bytes.
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows_) +
                     ", " + std::to_string(dim_) + "), }";
  const std::size_t text_bytes = kHeaderBytes - 10;
  dict.resize(text_bytes - 1, ' ');
  dict += '\n';
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(text_bytes & 0xff);
  header += static_cast<char>(text_bytes >> 8);
  header += dict;
  write_all(fd_, header.data(), header.size(), 0, path_);
}

void NpyRows::keep_first(std::uint64_t n) {
  rows_ = n;
  if (::ftruncate(fd_, static_cast<off_t>(kHeaderBytes + rows_ * dim_ * sizeof(float))) != 0)
    throw io_error(path_, "cannot truncate");
  write_header();
  if (::fsync(fd_) != 0) throw io_error(path_, "cannot sync");
}

void NpyRows::append(std::span<const float> row) {
  if (row.size() != dim_) {
    throw Error(ErrorCode::kInternal, "embedding of size " + std::to_string(row.size()) +
                                          ", expected " + std::to_string(dim_));
  }
  // Little-endian float32, as '<f4' says (x86-64 and aarch64 are little-endian).
  write_all(fd_, row.data(), row.size_bytes(), kHeaderBytes + rows_ * dim_ * sizeof(float), path_);
  ++rows_;
}

void NpyRows::sync() {
  if (::fsync(fd_) != 0) throw io_error(path_, "cannot sync");
  write_header();
  if (::fsync(fd_) != 0) throw io_error(path_, "cannot sync");
}

}  // namespace zeroshot::cli
