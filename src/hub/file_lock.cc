#include "hub/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "hub/cache.h"
#include "zeroshot/error.h"

namespace zeroshot::hub {

FileLock::FileLock(const std::string& path) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    throw Error(ErrorCode::kIo, path + ": cannot create lock file (" + std::strerror(errno) + ")");
  }
  while (flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    close(fd_);
    throw Error(ErrorCode::kIo, path + ": cannot lock (" + std::strerror(err) + ")");
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) {
    flock(fd_, LOCK_UN);
    close(fd_);
  }
}

}  // namespace zeroshot::hub
