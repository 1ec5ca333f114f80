// zeroshot: the one exception type of the library.
#pragma once

#include <stdexcept>
#include <string>

namespace zeroshot {

// What went wrong, for callers that branch on it (the CLI maps these to exit codes; docs/ERRORS.md
// lists every code with its messages).
enum class ErrorCode {
  kInvalidArgument,  // bad labels, template, option values
  kImageRead,        // image path missing, unreadable or a directory
  kImageDecode,      // bytes that no decoder accepts, truncated data, 0x0 images
  kImageTooLarge,    // declared pixel count above the configured limit (refused before decoding)
  kModelNotFound,    // no model folder or cache entry for the requested repo
  kModelInvalid,     // malformed config/tokenizer/safetensors, shape that disagrees with config
  kHubNotFound,      // the hub answered 404 for a repo, revision or file
  kHubUnauthorized,  // 401/403: gated or private repo without a valid token
  kNetwork,          // connection failures, server errors, interrupted transfers
  kOffline,          // HF_HUB_OFFLINE=1 and nothing usable is cached
  kIo,               // local filesystem failures (cache writes, permissions, disk full)
  kInternal,         // a bug in zeroshot: please report it
};

// Stable lower_snake_case name of a code ("invalid_argument", "image_decode", ...).
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace zeroshot
