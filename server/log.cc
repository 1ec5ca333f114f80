#include "log.h"

#include <cstdio>

namespace zeroshot::server {

std::string format_log_line(nlohmann::json fields, std::time_t now) {
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char time[32];
  std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fields["time"] = time;
  return fields.dump();
}

void log_line(nlohmann::json fields) {
  const std::string line = format_log_line(std::move(fields), std::time(nullptr)) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace zeroshot::server
