#include "http_error.h"

namespace zeroshot::server {

int status_of(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kImageDecode:
    case ErrorCode::kImageTooLarge:
      return 400;
    default:
      return 500;
  }
}

}  // namespace zeroshot::server
