// Bounds-checked reader of the safetensors format over a read-only memory mapping:
//   [u64 little-endian header length N][N bytes of JSON header][tensor data]
// The header maps names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
// the data section). Every offset, size and dtype is checked before any view is handed out.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "tensor/view.h"
#include "util/mapped_file.h"

namespace zeroshot::safetensors {

class File {
 public:
  // Maps and validates `path`; throws zeroshot::Error (kModelNotFound if missing, kModelInvalid for
  // any malformed header, naming the file and the offending tensor).
  static File open(const std::string& path);

  // Views into the mapping; valid while this File (or a copy) lives. Copies share the mapping.
  const tensor::NamedViews& tensors() const noexcept { return tensors_; }
  const std::unordered_map<std::string, std::string>& metadata() const noexcept {
    return metadata_;
  }
  const std::string& path() const noexcept { return mapping_->path(); }
  // The mapping the views point into: holding it keeps them valid after this File is gone.
  std::shared_ptr<const util::MappedFile> mapping() const noexcept { return mapping_; }

 private:
  std::shared_ptr<const util::MappedFile> mapping_;
  tensor::NamedViews tensors_;
  std::unordered_map<std::string, std::string> metadata_;
};

}  // namespace zeroshot::safetensors
