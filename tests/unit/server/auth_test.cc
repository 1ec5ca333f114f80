// server/auth: the bearer check and where the key comes from.
#include "auth.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "zeroshot/error.h"

namespace zeroshot::server {
namespace {

TEST(Auth, OnlyTheExactBearerHeaderPasses) {
  EXPECT_TRUE(authorized("Bearer k3y", "k3y"));
  EXPECT_FALSE(authorized("Bearer k3Y", "k3y"));
  EXPECT_FALSE(authorized("Bearer k3", "k3y"));
  EXPECT_FALSE(authorized("Bearer k3yy", "k3y"));
  EXPECT_FALSE(authorized("bearer k3y", "k3y"));
  EXPECT_FALSE(authorized("Basic  k3y", "k3y"));
  EXPECT_FALSE(authorized("", "k3y"));
  EXPECT_FALSE(authorized("k3y", "k3y"));
}

TEST(Auth, KeyFromFileElseEnvironment) {
  const auto path = std::filesystem::temp_directory_path() / "zs_auth_test_key";
  std::ofstream(path) << "  file-key\n";
  ::setenv("ZEROSHOT_API_KEY", "env-key", 1);
  EXPECT_EQ(load_api_key(path.string()), "file-key");
  EXPECT_EQ(load_api_key(""), "env-key");
  ::unsetenv("ZEROSHOT_API_KEY");
  EXPECT_EQ(load_api_key(""), "");
  std::ofstream(path) << " \n";
  try {
    load_api_key(path.string());
    ADD_FAILURE() << "an empty key file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  std::filesystem::remove(path);
  try {
    load_api_key(path.string());
    ADD_FAILURE() << "a missing key file was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

}  // namespace
}  // namespace zeroshot::server
