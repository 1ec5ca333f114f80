// A download progress bar on stderr (file, percent, bytes, rate, ETA), fed by the library's
// ProgressCallback. Silent unless stderr is a terminal, and with --quiet.
#pragma once

#include <chrono>
#include <string>

#include "zeroshot/hub.h"

namespace zeroshot::cli {

class ProgressBar {
 public:
  // enabled = false draws nothing; usually ProgressBar(!quiet && stderr_is_terminal()).
  explicit ProgressBar(bool enabled);
  ~ProgressBar();  // ends an unfinished line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // A callback that draws into this bar; the bar must outlive the download.
  ProgressCallback callback();
  static bool stderr_is_terminal();

 private:
  void update(const DownloadProgress& progress);

  bool enabled_;
  bool line_open_ = false;
  std::string file_;
  uint64_t start_done_ = 0;  // bytes already there when this file started (a resumed download)
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace zeroshot::cli
