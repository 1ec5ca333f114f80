#include "hub/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

#include "zeroshot/error.h"

namespace zeroshot::hub {
namespace {

constexpr size_t kMaxErrorBody = 4096;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Collects the headers of the last response: curl reports every response of a redirect chain,
// each starting with its status line.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const size_t n = size * count;
  std::string line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return n;
  std::string value = line.substr(colon + 1);
  const auto begin = value.find_first_not_of(" \t");
  value = begin == std::string::npos ? "" : value.substr(begin);
  response->headers[lower(line.substr(0, colon))] = value;
  return n;
}

long to_ms(double seconds) { return static_cast<long>(std::ceil(seconds * 1000)); }

CurlPtr make_handle(const std::string& url, const HttpOptions& options, curl_slist** headers_out,
                    HttpResponse* response) {
  global_init();
  CurlPtr curl(curl_easy_init());
  if (!curl) throw Error(ErrorCode::kInternal, "libcurl: curl_easy_init failed");
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(options.connect_timeout_s));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "zeroshot/" ZEROSHOT_VERSION);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, response);
  curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_slist* headers = nullptr;
  // The hub's sizes and hashes are those of the identity encoding (huggingface_hub sends this too).
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  if (options.token) {
    headers = curl_slist_append(headers, ("authorization: Bearer " + *options.token).c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  *headers_out = headers;
  return curl;
}

}  // namespace

std::optional<std::string> HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

HttpResponse http_head(const std::string& url, const HttpOptions& options) {
  HttpResponse response;
  curl_slist* raw_headers = nullptr;
  CurlPtr curl = make_handle(url, options, &raw_headers, &response);
  SlistPtr headers(raw_headers);
  curl_easy_setopt(curl.get(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, to_ms(options.timeout_s));
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    throw Error(ErrorCode::kNetwork, error[0] ? std::string(error) : curl_easy_strerror(code));
  }
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

namespace {

struct DownloadState {
  CURL* curl = nullptr;
  double stall_limit_s = 10;
  curl_off_t last_now = -1;  // bytes seen at the last progress tick
  std::chrono::steady_clock::time_point last_data;
  bool stalled = false;
  int fd = -1;
  uint64_t in_file = 0;  // bytes in the file
  bool ranged = false;
  bool first_write = true;
  bool write_body = false;  // 2xx: to the file; otherwise kept (truncated) for the error message
  DownloadResult* result = nullptr;
  const std::function<void(uint64_t)>* on_bytes = nullptr;
  std::exception_ptr error;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<DownloadState*>(user);
  const size_t n = size * count;
  if (state->first_write) {
    state->first_write = false;
    long status = 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    state->write_body = status >= 200 && status < 300;
    if (state->write_body && status == 200 && state->in_file > 0) {
      // The server ignored our Range header: start the file over.
      if (ftruncate(state->fd, 0) != 0 || lseek(state->fd, 0, SEEK_SET) != 0) return 0;
      state->in_file = 0;
      state->result->restarted = true;
    }
  }
  if (!state->write_body) {
    std::string& body = state->result->response.body;
    body.append(data, std::min(n, kMaxErrorBody - std::min(body.size(), kMaxErrorBody)));
    return n;
  }
  size_t done = 0;
  while (done < n) {
    const ssize_t written = write(state->fd, data + done, n - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      state->error = std::make_exception_ptr(
          Error(ErrorCode::kIo,
                std::string("cannot write the download to the cache: ") + std::strerror(errno)));
      return 0;
    }
    done += static_cast<size_t>(written);
  }
  state->in_file += n;
  state->result->bytes_written += n;
  if (state->on_bytes && *state->on_bytes) {
    try {
      (*state->on_bytes)(state->in_file);
    } catch (...) {
      state->error = std::current_exception();
      return 0;
    }
  }
  return n;
}

// huggingface_hub's download timeout is a read timeout: abort when no byte arrived for that long.
// (curl's LOW_SPEED_TIME averages speed over several seconds, so a burst followed by silence
// would be noticed late.) curl calls this at least once a second, also while idle.
int on_progress(void* user, curl_off_t, curl_off_t now, curl_off_t, curl_off_t) {
  auto* state = static_cast<DownloadState*>(user);
  const auto t = std::chrono::steady_clock::now();
  if (now != state->last_now) {
    state->last_now = now;
    state->last_data = t;
    return 0;
  }
  if (std::chrono::duration<double>(t - state->last_data).count() > state->stall_limit_s) {
    state->stalled = true;
    return 1;
  }
  return 0;
}

}  // namespace

DownloadResult http_download(const std::string& url, const HttpOptions& options, int fd,
                             uint64_t offset, const std::function<void(uint64_t)>& on_bytes) {
  DownloadResult result;
  curl_slist* raw_headers = nullptr;
  CurlPtr curl = make_handle(url, options, &raw_headers, &result.response);
  SlistPtr headers(raw_headers);
  CURL* c = curl.get();
  DownloadState state;
  state.curl = c;
  state.fd = fd;
  state.in_file = offset;
  state.ranged = offset > 0;
  state.result = &result;
  state.on_bytes = &on_bytes;
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  state.stall_limit_s = options.timeout_s;
  state.last_data = std::chrono::steady_clock::now();
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &state);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  std::string range;
  if (offset > 0) {
    range = std::to_string(offset) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(c);
  if (state.error) std::rethrow_exception(state.error);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.response.status);
  if (state.stalled) {
    char message[96];
    std::snprintf(message, sizeof message, "no data received for %.1f s (HF_HUB_DOWNLOAD_TIMEOUT)",
                  options.timeout_s);
    result.failure = TransportError{static_cast<int>(CURLE_OPERATION_TIMEDOUT), message};
  } else if (code != CURLE_OK) {
    result.failure = TransportError{static_cast<int>(code),
                                    error[0] ? std::string(error) : curl_easy_strerror(code)};
  }
  return result;
}

std::string url_quote(const std::string& text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace zeroshot::hub
