#include "weights_cache/store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "util/env.h"
#include "weights_cache/directory.h"
#include "weights_cache/format.h"

namespace zeroshot::weights_cache {

namespace {

namespace fs = std::filesystem;

class FileStore final : public kernels::PackedStore {
 public:
  FileStore(std::string folder, std::string name, std::string description)
      : folder_(std::move(folder)), name_(std::move(name)) {
    header_.key = name_.substr(0, 32);
    header_.description = std::move(description);
  }

  ~FileStore() override {
    if (map_ != nullptr) ::munmap(map_, header_.file_size);
    if (fd_ >= 0) ::close(fd_);
    if (!temporary_.empty()) ::unlink(temporary_.c_str());  // never completed
  }

  std::size_t add(std::size_t bytes, const std::string& layout) override {
    std::lock_guard lock(mutex_);
    header_.slots.push_back({0, bytes, format::checksum(layout.data(), layout.size()), 0});
    return header_.slots.size() - 1;
  }

  const void* stored(std::size_t slot) override {
    std::lock_guard lock(mutex_);
    open_locked();
    if (mode_ != Mode::kReading || slot >= header_.slots.size()) return nullptr;
    const format::Slot& s = header_.slots[slot];
    if (!checked_[slot]) {
      checked_[slot] = true;
      good_[slot] = format::checksum(map_ + s.offset, s.bytes) == s.checksum;
      // A damaged file is removed (if it is still the one mapped), so the next run writes it
      // anew; this run packs the slot in memory.
      if (!good_[slot]) remove_if_mapped();
    }
    return good_[slot] ? map_ + s.offset : nullptr;
  }

  void keep(std::size_t slot, const void* packed) override {
    std::lock_guard lock(mutex_);
    open_locked();
    if (mode_ != Mode::kWriting || slot >= header_.slots.size() || good_[slot]) return;
    format::Slot& s = header_.slots[slot];
    if (!write_all(packed, s.bytes, s.offset)) return abandon();
    s.checksum = format::checksum(packed, s.bytes);
    good_[slot] = true;
    if (++filled_ < header_.slots.size()) return;
    // Every slot is written: the header last, then the whole file under its final name.
    const std::vector<std::byte> header = format::encode(header_);
    if (!write_all(header.data(), header.size(), 0)) return abandon();
    ::close(fd_);
    fd_ = -1;
    const std::string final_path = (fs::path(folder_) / name_).string();
    if (::rename(temporary_.c_str(), final_path.c_str()) != 0) ::unlink(temporary_.c_str());
    temporary_.clear();
    mode_ = Mode::kDone;
  }

 private:
  enum class Mode { kUnopened, kReading, kWriting, kDone, kOff };

  // First use: the final file if it is valid for these slots, else a new temporary one.
  void open_locked() {
    if (mode_ != Mode::kUnopened) return;
    mode_ = Mode::kOff;
    checked_.assign(header_.slots.size(), false);
    good_.assign(header_.slots.size(), false);
    format::lay_out(header_);
    if (header_.slots.empty()) return;
    if (map_final()) return;
    create_temporary();
  }

  bool map_final() {
    const std::string path = (fs::path(folder_) / name_).string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    void* map = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) == header_.file_size)
      map = ::mmap(nullptr, header_.file_size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return false;
    const auto* bytes = static_cast<const std::byte*>(map);
    const auto found = format::decode({bytes, header_.header_bytes}, header_.file_size);
    bool same = found && found->key == header_.key && found->slots.size() == header_.slots.size();
    for (std::size_t i = 0; same && i < header_.slots.size(); ++i) {
      same = found->slots[i].offset == header_.slots[i].offset &&
             found->slots[i].bytes == header_.slots[i].bytes &&
             found->slots[i].layout_hash == header_.slots[i].layout_hash;
    }
    if (!same) {
      ::munmap(map, header_.file_size);
      return false;
    }
    header_.slots = found->slots;  // with their checksums
    map_ = static_cast<std::byte*>(map);
    mapped_ = {st.st_dev, st.st_ino};
    ::madvise(map, header_.file_size, MADV_WILLNEED);  // read ahead if not in the page cache
    mode_ = Mode::kReading;
    return true;
  }

  // A new file under a temporary name, written slot by slot as they are packed (plain writes
  // from the packed memory: no page of it is mapped, so this process's memory stays as without a
  // cache).
  void create_temporary() {
    static std::atomic<unsigned> counter{0};
    std::error_code ec;
    fs::create_directories(folder_, ec);
    const std::string path = (fs::path(folder_) / name_).string() + ".tmp." +
                             std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return;
    fd_ = fd;
    temporary_ = path;
    mode_ = Mode::kWriting;
    // Its full size now (the padding after the last slot is never written).
    if (::ftruncate(fd, static_cast<off_t>(header_.file_size)) != 0) abandon();
  }

  bool write_all(const void* data, std::size_t bytes, std::uint64_t offset) {
    const auto* p = static_cast<const char*>(data);
    while (bytes > 0) {
      const ssize_t n = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // a full disk, an I/O error: no cache this time
      p += n;
      bytes -= static_cast<std::size_t>(n);
      offset += static_cast<std::uint64_t>(n);
    }
    return true;
  }

  void abandon() {
    ::close(fd_);
    fd_ = -1;
    ::unlink(temporary_.c_str());
    temporary_.clear();
    mode_ = Mode::kOff;
  }

  void remove_if_mapped() {
    const std::string path = (fs::path(folder_) / name_).string();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_dev == mapped_.first && st.st_ino == mapped_.second)
      ::unlink(path.c_str());
  }

  const std::string folder_;
  const std::string name_;
  std::mutex mutex_;
  Mode mode_ = Mode::kUnopened;
  format::Header header_;
  std::vector<bool> checked_, good_;  // per slot: checksum compared (reading); matches / written
  std::size_t filled_ = 0;
  std::byte* map_ = nullptr;          // the final file, mapped for reading
  std::pair<dev_t, ino_t> mapped_{};  // its identity
  int fd_ = -1;                       // the file being written
  std::string temporary_;             // its name, until renamed
};

}  // namespace

std::shared_ptr<kernels::PackedStore> open_store_in(const std::string& folder,
                                                    const std::string& source,
                                                    const std::string& tower,
                                                    const std::string& precision) {
  const std::optional<std::string> identity = source_identity(source);
  if (!identity) return nullptr;
  const std::string signature = kernels::packing_signature();
  std::string description = "source=" + fs::absolute(source).lexically_normal().string() + "\n" +
                            "identity=" + *identity + "\n" + "tower=" + tower + "\n" +
                            "precision=" + precision + "\n" + "signature=" + signature + "\n";
  return std::make_shared<FileStore>(folder, file_name(*identity, tower, precision, signature),
                                     std::move(description));
}

std::shared_ptr<kernels::PackedStore> open_store(const std::string& source,
                                                 const std::string& tower,
                                                 const std::string& precision) {
  const std::optional<std::string> folder = util::prepared_cache_dir();
  if (!folder) return nullptr;
  return open_store_in(*folder, source, tower, precision);
}

}  // namespace zeroshot::weights_cache
