#include "progress.h"

#include <unistd.h>

#include <cstdio>

#include "common.h"

namespace zeroshot::cli {
namespace {

std::string clock_time(double seconds) {
  if (seconds < 0 || seconds > 99 * 3600) return "--:--";
  const long s = static_cast<long>(seconds + 0.5);
  char text[32];
  if (s >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
  }
  return text;
}

}  // namespace

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled) {}

ProgressBar::~ProgressBar() {
  if (line_open_) std::fputc('\n', stderr);
}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) != 0; }

ProgressCallback ProgressBar::callback() {
  return [this](const DownloadProgress& progress) { update(progress); };
}

void ProgressBar::update(const DownloadProgress& p) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (p.file != file_) {
    if (line_open_) std::fputc('\n', stderr);
    file_ = p.file;
    start_ = now;
    start_done_ = p.done;
    last_draw_ = {};
  }
  const bool finished = p.total > 0 && p.done >= p.total;
  // Redraw at most 10 times a second, and always the final state.
  if (!finished && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0.2 ? static_cast<double>(p.done - start_done_) / elapsed : 0;
  std::string line = p.file + "  ";
  if (p.total > 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(100.0 * p.done / p.total));
    line += std::string(percent) + "  " + format_bytes(p.done) + " / " + format_bytes(p.total);
  } else {
    line += format_bytes(p.done);
  }
  if (rate > 0) line += "  " + format_bytes(rate) + "/s";
  if (finished) {
    line += "  done in " + clock_time(elapsed);
  } else if (rate > 0 && p.total > 0) {
    line += "  ETA " + clock_time(static_cast<double>(p.total - p.done) / rate);
  }
  // \r + clear to end of line: the bar redraws in place.
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  line_open_ = true;
  if (finished) {
    std::fputc('\n', stderr);
    line_open_ = false;
  }
  std::fflush(stderr);
}

}  // namespace zeroshot::cli
