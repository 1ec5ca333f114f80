// libFuzzer target: the safetensors header parser (safetensors::File::open) on arbitrary bytes.
// File::open reads a path, so each input is written to an in-memory file (memfd) and opened through
// /proc/self/fd: no disk traffic, and the real mmap code path is exercised.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "safetensors/safetensors.h"
#include "zeroshot/error.h"

// Keeps the reads below from being optimised away.
volatile unsigned g_sink = 0;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int fd = ::memfd_create("zs_safetensors_fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  if (::ftruncate(fd, 0) != 0) std::abort();
  std::size_t written = 0;
  while (written < size) {
    auto n = ::pwrite(fd, data + written, size - written, static_cast<off_t>(written));
    if (n <= 0) std::abort();
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto file = zeroshot::safetensors::File::open(path);
    // Touch every byte of every view: ASan reports any view that reaches outside the mapping.
    unsigned sum = 0;
    for (const auto& [name, view] : file.tensors()) {
      if (view.numel() < 0) std::abort();
      for (std::size_t i = 0; i < view.nbytes; ++i) sum += static_cast<unsigned>(view.data[i]);
    }
    g_sink = sum;
  } catch (const zeroshot::Error& e) {
    // Every rejection must be a kModelInvalid that names the file.
    if (e.code() != zeroshot::ErrorCode::kModelInvalid) std::abort();
    if (std::string(e.what()).find(path) == std::string::npos) std::abort();
  }
  return 0;
}
