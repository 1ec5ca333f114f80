// The service's log: one JSON object per line on stderr, requests and life-cycle events alike,
// each with its UTC "time" (docs/SERVING.md, "Metrics and logs"). Never a header or a key.
#pragma once

#include <nlohmann/json.hpp>

#include <ctime>
#include <string>

namespace zeroshot::server {

// `fields` with "time" (ISO 8601 UTC to the second, from `now`) added, as one line of JSON
// without its newline.
std::string format_log_line(nlohmann::json fields, std::time_t now);

// format_log_line of the current time, written to stderr with its newline in one call (lines of
// concurrent requests never interleave).
void log_line(nlohmann::json fields);

}  // namespace zeroshot::server
