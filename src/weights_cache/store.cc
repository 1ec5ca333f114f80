#include "weights_cache/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "util/env.h"
#include "weights_cache/directory.h"
#include "weights_cache/format.h"

namespace zeroshot::weights_cache {

namespace {

namespace fs = std::filesystem;

std::atomic<WriteMode> write_mode{WriteMode::kAsPacked};

class FileStore;

// Deferred towers with every slot packed, waiting for write_deferred. Never destroyed: the
// packed weights they hold are oneDNN memory, which must not be released by a static destructor
// after oneDNN's own are gone (the process's exit frees them).
std::mutex& deferred_mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::vector<std::shared_ptr<FileStore>>& deferred_stores() {
  static auto* stores = new std::vector<std::shared_ptr<FileStore>>;
  return *stores;
}

class FileStore final : public kernels::PackedStore,
                        public std::enable_shared_from_this<FileStore> {
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

  void keep(std::size_t slot, std::shared_ptr<const void> packed) override {
    std::unique_lock lock(mutex_);
    open_locked();
    if (slot >= header_.slots.size() || good_[slot]) return;
    if (mode_ == Mode::kDeferred) {
      pending_[slot] = std::move(packed);
      good_[slot] = true;
      if (++filled_ < header_.slots.size()) return;
      lock.unlock();
      std::lock_guard registry(deferred_mutex());
      deferred_stores().push_back(shared_from_this());
      return;
    }
    if (mode_ != Mode::kWriting) return;
    if (!write_slot(slot, packed.get())) return abandon();
    if (++filled_ == header_.slots.size()) finish();
  }

  // Deferred: writes the file if every slot was packed and no complete file is there yet; the
  // folder is created only with create_folder. True when a file was written.
  bool write_pending(bool create_folder) {
    std::lock_guard lock(mutex_);
    if (mode_ != Mode::kDeferred || filled_ < header_.slots.size()) return false;
    mode_ = Mode::kDone;
    const std::vector<std::shared_ptr<const void>> pending = std::move(pending_);
    struct stat st {};
    const std::string final_path = this->final_path();
    if (::stat(final_path.c_str(), &st) == 0 &&
        static_cast<std::uint64_t>(st.st_size) == header_.file_size)
      return false;  // another process wrote it meanwhile
    if (!create_temporary(create_folder)) return false;
    for (std::size_t slot = 0; slot < pending.size(); ++slot) {
      if (!write_slot(slot, pending[slot].get())) {
        abandon();
        return false;
      }
    }
    return finish();
  }

  const std::string& folder() const { return folder_; }

 private:
  enum class Mode { kUnopened, kReading, kWriting, kDeferred, kDone, kOff };

  std::string final_path() const { return (fs::path(folder_) / name_).string(); }

  // First use: the final file if it is valid for these slots, else (deferred) nothing yet, else
  // a new temporary one.
  void open_locked() {
    if (mode_ != Mode::kUnopened) return;
    mode_ = Mode::kOff;
    checked_.assign(header_.slots.size(), false);
    good_.assign(header_.slots.size(), false);
    format::lay_out(header_);
    if (header_.slots.empty()) return;
    if (map_final()) return;
    if (write_mode.load() == WriteMode::kDeferred) {
      pending_.resize(header_.slots.size());
      mode_ = Mode::kDeferred;
      return;
    }
    create_temporary(/*create_folder=*/true);
  }

  // Writes one slot's packed bytes into the temporary file and records their checksum.
  bool write_slot(std::size_t slot, const void* packed) {
    format::Slot& s = header_.slots[slot];
    if (!write_all(packed, s.bytes, s.offset)) return false;
    s.checksum = format::checksum(packed, s.bytes);
    good_[slot] = true;
    return true;
  }

  // Every slot is written: the header last, then the whole file under its final name.
  bool finish() {
    const std::vector<std::byte> header = format::encode(header_);
    if (!write_all(header.data(), header.size(), 0)) {
      abandon();
      return false;
    }
    ::close(fd_);
    fd_ = -1;
    const std::string final_path = this->final_path();
    const bool renamed = ::rename(temporary_.c_str(), final_path.c_str()) == 0;
    if (!renamed) ::unlink(temporary_.c_str());
    temporary_.clear();
    mode_ = Mode::kDone;
    return renamed;
  }

  bool map_final() {
    const int fd = ::open(final_path().c_str(), O_RDONLY | O_CLOEXEC);
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
  bool create_temporary(bool create_folder) {
    static std::atomic<unsigned> counter{0};
    std::error_code ec;
    if (create_folder) fs::create_directories(folder_, ec);
    const std::string path =
        final_path() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      mode_ = Mode::kOff;
      return false;
    }
    fd_ = fd;
    temporary_ = path;
    mode_ = Mode::kWriting;
    // Its full size now (the padding after the last slot is never written).
    if (::ftruncate(fd, static_cast<off_t>(header_.file_size)) != 0) {
      abandon();
      return false;
    }
    return true;
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
    const std::string path = final_path();
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
  std::vector<std::shared_ptr<const void>> pending_;  // deferred: the packed slots, kept alive
  std::byte* map_ = nullptr;                          // the final file, mapped for reading
  std::pair<dev_t, ino_t> mapped_{};                  // its identity
  int fd_ = -1;                                       // the file being written
  std::string temporary_;                             // its name, until renamed
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

void set_write_mode(WriteMode mode) { write_mode = mode; }

namespace {

std::vector<std::shared_ptr<FileStore>> take_deferred() {
  std::lock_guard lock(deferred_mutex());
  return std::exchange(deferred_stores(), {});
}

// Closes every descriptor from 3 up except those in `keep` (sorted).
void close_all_but(const std::vector<int>& keep) {
  unsigned first = 3;
  for (const int fd : keep) {
    if (static_cast<unsigned>(fd) > first) ::close_range(first, static_cast<unsigned>(fd) - 1, 0);
    first = std::max(first, static_cast<unsigned>(fd) + 1);
  }
  ::close_range(first, UINT_MAX, 0);
}

}  // namespace

std::size_t write_deferred() {
  std::size_t written = 0;
  for (const auto& store : take_deferred()) written += store->write_pending(true);
  return written;
}

bool write_deferred_in_background() {
  std::vector<std::shared_ptr<FileStore>> stores = take_deferred();
  if (stores.empty()) return false;
  // Per folder, the lock that makes one writer at a time (flock on the folder itself, taken here
  // so that whoever waits for it after this process exits finds it held; the child inherits it).
  // The parent creates the folders: the child never does (a folder removed meanwhile stays so).
  std::map<std::string, int> locks;
  for (const auto& store : stores) {
    if (locks.count(store->folder())) continue;
    std::error_code ec;
    fs::create_directories(store->folder(), ec);
    const int fd = ::open(store->folder().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);  // another writer is at work there: the next run writes ours
      locks[store->folder()] = -1;
    } else {
      locks[store->folder()] = fd;
    }
  }
  std::vector<int> held;
  for (const auto& [folder, fd] : locks)
    if (fd >= 0) held.push_back(fd);
  const pid_t pid = held.empty() ? -1 : ::fork();
  if (pid != 0) {
    for (const int fd : held) ::close(fd);  // the child's copies keep the locks
    if (pid < 0) {
      std::lock_guard lock(deferred_mutex());  // nothing started: still deferred
      deferred_stores().insert(deferred_stores().end(), stores.begin(), stores.end());
    }
    return pid > 0;
  }
  // The child: nothing of the caller's stays open (a shell's $(zeroshot ...) waits for its pipe
  // to close), no signal from the terminal, the user's next command first.
  ::setsid();
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  std::sort(held.begin(), held.end());
  close_all_but(held);
  ::setpriority(PRIO_PROCESS, 0, 10);
  for (const auto& store : stores)
    if (locks[store->folder()] >= 0) store->write_pending(/*create_folder=*/false);
  ::_exit(0);
}

}  // namespace zeroshot::weights_cache
