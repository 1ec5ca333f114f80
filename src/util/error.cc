// zeroshot::error_code_name (include/zeroshot/error.h), in the bottom layer because every module
// throws zeroshot::Error. src/util/CMakeLists.txt says how the shared library still exports it.
#include "zeroshot/error.h"

namespace zeroshot {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kImageRead:
      return "image_read";
    case ErrorCode::kImageDecode:
      return "image_decode";
    case ErrorCode::kImageTooLarge:
      return "image_too_large";
    case ErrorCode::kModelNotFound:
      return "model_not_found";
    case ErrorCode::kModelInvalid:
      return "model_invalid";
    case ErrorCode::kHubNotFound:
      return "hub_not_found";
    case ErrorCode::kHubUnauthorized:
      return "hub_unauthorized";
    case ErrorCode::kNetwork:
      return "network";
    case ErrorCode::kOffline:
      return "offline";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

}  // namespace zeroshot
