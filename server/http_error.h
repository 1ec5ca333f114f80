// Errors of the HTTP service: a status, an error code of docs/ERRORS.md ("HTTP service") and a
// message, sent as {"error": {"code": ..., "message": ...}}.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "common/result_json.h"
#include "zeroshot/error.h"

namespace zeroshot::server {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message, int retry_after_s = 0)
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        retry_after_s_(retry_after_s) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }
  // Seconds for a Retry-After header (429); 0 = none.
  int retry_after_s() const noexcept { return retry_after_s_; }

 private:
  int status_;
  std::string code_;
  int retry_after_s_;
};

// {"code": ..., "message": ...}: the value of an "error" field, whole-request or per item (the
// shape the CLI prints too: common/result_json.h).
using common::error_object;

// The HTTP status of a library error that fails a whole request: bad input is the caller's (400),
// anything else the server's (500).
int status_of(const Error& error);

// A library error that fails a whole request (a label or template the library refuses, a failure
// of its own) as the HttpError to answer: status_of's status, the library's code name, and the
// message after `context` (e.g. "input 2: ").
HttpError http_error(const Error& error, const std::string& context = "");

}  // namespace zeroshot::server
