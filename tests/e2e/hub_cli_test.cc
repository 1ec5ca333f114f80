// `zeroshot download` and `zeroshot cache ls` end to end: the CLI binary against the fake hub on
// 127.0.0.1, with a cache folder of the test's own.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "e2e/run_cli.h"
#include "support/fake_hub.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;

class HubCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/zeroshot-hub-cli-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    setenv("HF_HUB_CACHE", (root_ + "/hub").c_str(), 1);
    setenv("HF_HOME", (root_ + "/home").c_str(), 1);
    setenv("HF_ENDPOINT", hub_.endpoint().c_str(), 1);
    setenv("HF_HUB_DOWNLOAD_TIMEOUT", "5", 1);
    for (const char* name : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH",
                             "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HUGGINGFACE_HUB_CACHE"}) {
      unsetenv(name);
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  FakeHub hub_;
  std::string root_;
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
