// Read-only float32 weights that are either borrowed in place from a file mapping (float32
// tensors of a safetensors file: no copy, no page faults at load) or owned (converted from
// F16/BF16, or fused). Either way `owner` keeps the memory alive, so a Floats is cheap to copy
// and safe to keep after the File that produced it is gone.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "tensor/buffer.h"

namespace zeroshot::tensor {

class Floats {
 public:
  Floats() = default;
  // Borrowed: `data` stays valid while `owner` lives (e.g. the util::MappedFile it points into).
  Floats(std::shared_ptr<const void> owner, const float* data, std::size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}
  // Owned.
  explicit Floats(Buffer buffer) {
    auto owned = std::make_shared<const Buffer>(std::move(buffer));
    data_ = owned->data();
    size_ = owned->size();
    owner_ = std::move(owned);
  }

  const float* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  float operator[](std::size_t i) const noexcept { return data_[i]; }
  std::span<const float> span() const noexcept { return {data_, size_}; }
  const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

 private:
  std::shared_ptr<const void> owner_;
  const float* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace zeroshot::tensor
