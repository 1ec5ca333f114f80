#include "tensor/view.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace zeroshot::tensor {

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

void release_pages(const View& view) {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(view.data);
  const std::uintptr_t first = (begin + page - 1) / page * page;    // whole pages only: the
  const std::uintptr_t last = (begin + view.nbytes) / page * page;  // edges may hold neighbours
  if (view.data == nullptr || last <= first) return;
  // A hint: on failure the pages simply stay resident.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace zeroshot::tensor
