// An owning, 64-byte aligned, zero-initialised float buffer: the storage of weights prepared at
// load and of per-call scratch. Move-only, so that a copy is never made by accident.
// Buffers of 1 MiB or more are their own anonymous mappings: the kernel hands out zeroed pages and
// takes them back at once on release. (From malloc, the load's many freed temporaries stayed in
// the heap and raised peak RSS by ~20% of the weights.)
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <span>
#include <utility>

namespace zeroshot::tensor {

class Buffer {
 public:
  static constexpr std::size_t kAlignment = 64;  // a cache line; enough for AVX-512 loads

  Buffer() = default;
  static constexpr std::size_t kMapBytes = std::size_t{1} << 20;

  explicit Buffer(std::size_t size) : size_(size) {
    if (size == 0) return;
    const std::size_t bytes = rounded_bytes(size);
    if (bytes >= kMapBytes) {
      void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      data_ = static_cast<float*>(p);  // page-aligned, zero-filled
      return;
    }
    data_ = static_cast<float*>(::operator new[](bytes, std::align_val_t{kAlignment}));
    for (std::size_t i = 0; i < size; ++i) data_[i] = 0.0f;
  }
  Buffer(Buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  Buffer& operator=(Buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }

  float* data() noexcept { return data_; }
  const float* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  float& operator[](std::size_t i) noexcept { return data_[i]; }
  float operator[](std::size_t i) const noexcept { return data_[i]; }
  std::span<float> span() noexcept { return {data_, size_}; }
  std::span<const float> span() const noexcept { return {data_, size_}; }

 private:
  static std::size_t rounded_bytes(std::size_t size) noexcept {
    return (size * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
  }

  void release() noexcept {
    if (data_ && rounded_bytes(size_) >= kMapBytes) {
      ::munmap(data_, rounded_bytes(size_));
    } else if (data_) {
      ::operator delete[](data_, std::align_val_t{kAlignment});
    }
    data_ = nullptr;
    size_ = 0;
  }

  float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace zeroshot::tensor
