#include "http_error.h"

namespace zeroshot::server {

HttpError http_error(const Error& error, const std::string& context) {
  return HttpError(status_of(error), error_code_name(error.code()), context + error.what());
}

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
