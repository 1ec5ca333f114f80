// SHA-256 (FIPS 180-4), streaming: verifies LFS blobs, whose hub ETag is the sha256 of the content.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace zeroshot::hub {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  // Lower-case hex digest (64 characters); the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);  // one 64-byte block

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;  // [64] pending bytes of a partial block
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// sha256 of a whole file, as lower-case hex. Throws Error(kIo) when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace zeroshot::hub
