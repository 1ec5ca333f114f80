#include "http_error.h"

namespace zeroshot::server {

nlohmann::json error_object(const std::string& code, const std::string& message) {
  return {{"code", code}, {"message", message}};
}

nlohmann::json error_object(const Error& error) {
  return error_object(error_code_name(error.code()), error.what());
}

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
