// The hub module's only HTTP client (libcurl). Requests never follow redirects implicitly except
// the blob download; callers see the status and headers and decide (as huggingface_hub does).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace zeroshot::hub {

struct HttpOptions {
  std::optional<std::string> token;  // sent as "authorization: Bearer <token>"
  double connect_timeout_s = 10;
  // HEAD: whole-request limit. GET: abort when no byte arrives for this long.
  double timeout_s = 10;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // of the final response; keys lower-cased
  std::string body;                            // HEAD: empty; error GETs: the first 4 KiB

  std::optional<std::string> header(const std::string& lower_name) const;
};

// A transport failure (no HTTP status): DNS, refused connection, timeout, connection dropped.
struct TransportError {
  int curl_code = 0;
  std::string message;
};

// HEAD without following redirects. Throws Error(kNetwork) with curl's message (the URL is the
// caller's to add) on transport failures.
HttpResponse http_head(const std::string& url, const HttpOptions& options);

struct DownloadResult {
  HttpResponse response;                  // status 0 when the transfer failed at transport level
  std::optional<TransportError> failure;  // set when the transfer did not complete
  uint64_t bytes_written = 0;             // body bytes appended to the file by this call
  bool restarted = false;                 // the server ignored Range: the file was truncated first
};

// GET `url` following redirects (Authorization is dropped when the host changes, as curl does for
// custom headers), appending the body of a 2xx response to the open file `fd`, which already holds
// `offset` bytes; `offset` > 0 sends "Range: bytes=<offset>-". A 200 reply to a ranged request
// truncates the file and starts over. `on_bytes(total_in_file)` is called as data arrives; an
// exception from it aborts the transfer and is rethrown.
DownloadResult http_download(const std::string& url, const HttpOptions& options, int fd,
                             uint64_t offset, const std::function<void(uint64_t)>& on_bytes);

// Percent-encodes everything but unreserved characters (and '/' when keep_slash), as Python's
// urllib.parse.quote with safe="" or safe="/".
std::string url_quote(const std::string& text, bool keep_slash);

}  // namespace zeroshot::hub
