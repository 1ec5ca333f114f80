// server/log: one format for every log line (requests and life-cycle events): the fields as one
// line of JSON with the UTC time added.
#include "log.h"

#include <gtest/gtest.h>

namespace zeroshot::server {
namespace {

TEST(Log, EveryLineGetsItsUtcTime) {
  // 2026-11-30T19:40:07Z is 1796067607 s after the epoch.
  EXPECT_EQ(format_log_line({{"event", "ready"}, {"models", {"m/a"}}}, 1796067607),
            R"({"event":"ready","models":["m/a"],"time":"2026-11-30T19:40:07Z"})");
  EXPECT_EQ(format_log_line({{"status", 200}}, 0),
            R"({"status":200,"time":"1970-01-01T00:00:00Z"})");
  // One line, whatever the fields hold.
  const std::string line = format_log_line({{"route", "a\nb"}}, 0);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
}

}  // namespace
}  // namespace zeroshot::server
