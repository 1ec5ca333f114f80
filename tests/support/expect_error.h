// expect_error: runs a call that must throw zeroshot::Error with a given code and a message that
// names what was wrong (every fragment must appear in it), for the bad-input tests.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "zeroshot/error.h"

namespace zeroshot::testing {

// Runs `call`, expects `code` and every fragment in the message; returns the message ("" when
// nothing was thrown, which fails the test).
inline std::string expect_error(const std::function<void()>& call, ErrorCode code,
                                const std::vector<std::string>& fragments) {
  try {
    call();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' missing from: " << e.what();
    }
    return e.what();
  }
  ADD_FAILURE() << "expected a zeroshot::Error with code " << error_code_name(code);
  return "";
}

}  // namespace zeroshot::testing
