// A non-owning, typed view of a weight tensor (for example inside a memory-mapped safetensors
// file). The model converts or packs what it needs at load; views are never written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace zeroshot::tensor {

enum class DType { kF32, kF16, kBF16, kOther };

struct View {
  DType dtype = DType::kF32;
  std::string dtype_name;  // as written in the file ("F32", "I64", ...), for messages
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;  // may be unaligned: read with memcpy or convert
  std::size_t nbytes = 0;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// Weight name (Hugging Face's, e.g. "vision_model.embeddings.class_embedding") -> view.
using NamedViews = std::unordered_map<std::string, View>;

// Drops the view's whole pages from this process's resident set (madvise MADV_DONTNEED). ONLY for
// views into a read-only file mapping (safetensors::File), whose pages fault back in from the file
// if read again; on anonymous memory it would zero the data.
void release_pages(const View& view);

// "[768,3,32,32]"
std::string shape_string(const std::vector<std::int64_t>& shape);

}  // namespace zeroshot::tensor
