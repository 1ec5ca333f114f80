// A read-only memory mapping of a whole file (RAII).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace zeroshot::util {

class MappedFile {
 public:
  // Throws zeroshot::Error (kModelNotFound if missing, kIo otherwise) naming the path.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

// Reads a whole (small) file; throws zeroshot::Error naming the path.
std::string read_file(const std::string& path);

}  // namespace zeroshot::util
