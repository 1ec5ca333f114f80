// server/http_error: the status of every library error code that fails a whole request (a label,
// a template, a text to embed): the caller's input is 400, the server's own failures 500.
#include "http_error.h"

#include <gtest/gtest.h>

namespace zeroshot::server {
namespace {

TEST(HttpError, EveryLibraryCodeHasItsStatus) {
  const std::pair<ErrorCode, int> cases[] = {
      // What the client sent: bad labels, templates, top_k, texts, images.
      {ErrorCode::kInvalidArgument, 400},
      {ErrorCode::kImageDecode, 400},
      {ErrorCode::kImageTooLarge, 400},
      // Never the client's: the server's files, network, disk or a bug.
      {ErrorCode::kImageRead, 500},
      {ErrorCode::kModelNotFound, 500},
      {ErrorCode::kModelInvalid, 500},
      {ErrorCode::kHubNotFound, 500},
      {ErrorCode::kHubUnauthorized, 500},
      {ErrorCode::kNetwork, 500},
      {ErrorCode::kOffline, 500},
      {ErrorCode::kIo, 500},
      {ErrorCode::kInternal, 500}};
  for (const auto& [code, status] : cases) {
    const Error error(code, "what went wrong");
    EXPECT_EQ(status_of(error), status) << error_code_name(code);
    const HttpError http = http_error(error, "label 2 of 3: ");
    EXPECT_EQ(http.status(), status) << error_code_name(code);
    EXPECT_EQ(http.code(), error_code_name(code));
    EXPECT_STREQ(http.what(), "label 2 of 3: what went wrong");
    EXPECT_EQ(http.retry_after_s(), 0);
  }
  EXPECT_STREQ(http_error(Error(ErrorCode::kInternal, "x")).what(), "x");
}

TEST(HttpError, ErrorObjectsCarryCodeAndMessage) {
  EXPECT_EQ(error_object("bad_request", "no image given"),
            (nlohmann::json{{"code", "bad_request"}, {"message", "no image given"}}));
  EXPECT_EQ(error_object(Error(ErrorCode::kImageDecode, "not an image")),
            (nlohmann::json{{"code", "image_decode"}, {"message", "not an image"}}));
}

}  // namespace
}  // namespace zeroshot::server
