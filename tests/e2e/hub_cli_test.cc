// `zeroshot download` and `zeroshot cache ls` end to end: the CLI binary against the fake hub on
// 127.0.0.1, with a cache folder of the test's own.
#include <gtest/gtest.h>

#include <string>

#include "e2e/run_cli.h"
#include "support/fake_hub.h"

namespace zeroshot::testing {
namespace {

class HubCliTest : public ::testing::Test {
 protected:
  FakeHub hub_;
  const HubEnvironment environment_{hub_};
  const std::string root_ = environment_.root();
};

TEST_F(HubCliTest, DownloadThenCacheLs) {
  const CliResult download = run_cli({"download", "--quiet", "tiny/clip"});
  EXPECT_EQ(download.exit_code, 0) << download.err;
  EXPECT_EQ(download.out, root_ + "/hub/models--tiny--clip/snapshots/" + kCommitMain + "\n");
  const CliResult json = run_cli({"download", "--json", "--revision", "v0.9", "tiny/clip"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find(std::string("\"commit\":\"") + kCommitOld + "\""), std::string::npos)
      << json.out;
  const CliResult ls = run_cli({"cache", "ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("tiny/clip"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("main@0123456"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("v0.9@fedcba9"), std::string::npos) << ls.out;
  const CliResult ls_json = run_cli({"cache", "ls", "--json"});
  EXPECT_NE(ls_json.out.find("\"repo\":\"tiny/clip\""), std::string::npos) << ls_json.out;
}

TEST_F(HubCliTest, DownloadErrorsHaveTheirExitCodes) {
  const CliResult missing = run_cli({"download", "nobody/nothing"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nobody/nothing"), std::string::npos) << missing.err;
  EXPECT_EQ(run_cli({"download", "a/b/c"}).exit_code, 2);
  EXPECT_EQ(run_cli({"download"}).exit_code, 2);
}

}  // namespace
}  // namespace zeroshot::testing
