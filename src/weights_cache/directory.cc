#include "weights_cache/directory.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "weights_cache/format.h"

namespace zeroshot::weights_cache {

namespace {

namespace fs = std::filesystem;

bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The header of a cache file, or nullopt when it has none of ours.
std::optional<format::Header> read_header(const fs::path& path, std::uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::byte> start(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 20)));
  if (!in.read(reinterpret_cast<char*>(start.data()), static_cast<std::streamsize>(start.size())))
    return std::nullopt;
  return format::decode(start, size);
}

// The writer of "<name>.zsw.tmp.<pid>.<n>" is still running.
bool writer_alive(const std::string& file_name) {
  const std::size_t at = file_name.find(format::kTemporaryInfix);
  if (at == std::string::npos) return false;
  const std::string rest = file_name.substr(at + std::string_view(format::kTemporaryInfix).size());
  try {
    const long pid = std::stol(rest.substr(0, rest.find('.')));
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::optional<std::string> source_identity(const std::string& path) {
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  struct stat st {};
  if (ec || ::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const std::string name = real.filename().string();
  // The Hugging Face cache names a blob by its content's hash (sha256 for LFS files).
  if (real.parent_path().filename() == "blobs" && (name.size() == 64 || name.size() == 40) &&
      all_hex(name)) {
    return "hub-blob " + name + " " + std::to_string(st.st_size);
  }
  return "file " + real.string() + " dev " + std::to_string(st.st_dev) + " inode " +
         std::to_string(st.st_ino) + " size " + std::to_string(st.st_size) + " mtime " +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + " ctime " +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

std::string file_name(const std::string& identity, const std::string& tower,
                      const std::string& precision, const std::string& signature) {
  return format::hex128("zeroshot prepared weights 1\n" + identity + "\n" + tower + "\n" +
                        precision + "\n" + signature) +
         format::kSuffix;
}

std::vector<Entry> list(const std::string& folder) {
  std::vector<Entry> entries;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(folder, ec)) {
    const std::string name = item.path().filename().string();
    const bool temporary = name.find(format::kTemporaryInfix) != std::string::npos;
    const bool final_file = name.size() > 4 && name.ends_with(format::kSuffix);
    if (!temporary && !final_file) continue;
    std::error_code size_ec;
    Entry entry;
    entry.path = item.path().string();
    entry.bytes = item.file_size(size_ec);
    entry.temporary = temporary;
    if (temporary) {
      entry.stale = !writer_alive(name);
    } else if (const auto header = read_header(item.path(), entry.bytes)) {
      const std::string& d = header->description;
      entry.source = format::description_value(d, "source");
      entry.tower = format::description_value(d, "tower");
      entry.precision = format::description_value(d, "precision");
      entry.signature = format::description_value(d, "signature");
      entry.stale = source_identity(entry.source) != format::description_value(d, "identity");
    } else {
      entry.stale = true;
    }
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return entries;
}

std::uint64_t clear(const std::string& folder, bool stale_only) {
  std::uint64_t freed = 0;
  for (const Entry& entry : list(folder)) {
    // A temporary file is removed only when its writer is gone, even by a full clear.
    if ((stale_only || entry.temporary) && !entry.stale) continue;
    std::error_code ec;
    if (fs::remove(entry.path, ec)) freed += entry.bytes;
  }
  return freed;
}

}  // namespace zeroshot::weights_cache
