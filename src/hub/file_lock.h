// An exclusive flock() on a lock file: the same primitive as Python's filelock (UnixFileLock), so
// zeroshot and huggingface_hub downloading the same blob wait for each other. The kernel releases
// it when the process dies, so a killed download never leaves a stale lock.
#pragma once

#include <string>

namespace zeroshot::hub {

class FileLock {
 public:
  // Creates the file (and its folder) if needed and blocks until the lock is held.
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace zeroshot::hub
