// The hub downloads what the family registry declares (src/api/model_files.cc hands it over):
// the request sequence of each family's repo, .no_exist entries, and the errors for a repo no
// family loads, worded from the declarations. The expected sequences are written out here, as
// docs/HUB.md gives them, not read from the declarations.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "api/model_files.h"
#include "hub/hub.h"
#include "support/expect_error.h"
#include "support/fake_hub.h"
#include "zeroshot/error.h"

namespace zeroshot::testing {
namespace {

namespace fs = std::filesystem;

// The files asked for with HEAD, in order (the last path component of each request).
std::vector<std::string> heads(const FakeHub& hub) {
  std::vector<std::string> files;
  for (const std::string& entry : hub.log()) {
    if (entry.rfind("HEAD ", 0) == 0) files.push_back(entry.substr(entry.rfind('/') + 1));
  }
  return files;
}

int cdn_gets(const FakeHub& hub) {
  int n = 0;
  for (const auto& entry : hub.log()) n += entry.rfind("GET /cdn/", 0) == 0;
  return n;
}

std::string download(const std::string& repo) {
  return hub::download_snapshot(
      {.repo = repo, .revision = "main", .progress = {}, .layout = api::model_layout()});
}

TEST(HubFamilyFiles, ClipRepoIsAskedForExactlyTheFilesItAlwaysWas) {
  FakeHub hub;
  const HubEnvironment environment(hub);
  download(kRepo);
  EXPECT_EQ(heads(hub),
            (std::vector<std::string>{
                "config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json",
                "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"}));
}

TEST(HubFamilyFiles, SiglipRepoIsAskedForItsOwnFilesOnly) {
  FakeHub hub;
  const std::string commit = "5151515151515151515151515151515151515151";
  hub.add_repo("tiny/siglip", commit,
               {{"config.json", R"({"model_type": "siglip"})"},
                {"model.safetensors", "weights"},
                {"preprocessor_config.json", "{}"},
                {"spiece.model", "sentencepiece"}});
  const HubEnvironment environment(hub);
  const std::string folder = download("tiny/siglip");
  EXPECT_EQ(heads(hub), (std::vector<std::string>{
                            "config.json", "model.safetensors", "preprocessor_config.json",
                            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json",
                            "spiece.model"}));
  EXPECT_TRUE(fs::is_regular_file(folder + "/spiece.model"));
  const std::string no_exist = environment.cache() + "/models--tiny--siglip/.no_exist/" + commit;
  EXPECT_TRUE(fs::is_regular_file(no_exist + "/tokenizer_config.json"));
  // SigLIP 2's tokenizer.json is asked for; CLIP's vocab.json is not.
  EXPECT_TRUE(fs::is_regular_file(no_exist + "/tokenizer.json"));
  EXPECT_FALSE(fs::exists(no_exist + "/vocab.json")) << "CLIP's tokenizer is not asked for";
}

// SigLIP 2's fixed-resolution layout: model_type "siglip", a tokenizer.json, no spiece.model.
TEST(HubFamilyFiles, Siglip2RepoWithTokenizerJsonIsComplete) {
  FakeHub hub;
  const std::string commit = "5252525252525252525252525252525252525252";
  hub.add_repo("tiny/siglip2", commit,
               {{"config.json", R"({"model_type": "siglip"})"},
                {"model.safetensors", "weights"},
                {"preprocessor_config.json", "{}"},
                {"tokenizer.json", "{}"}});
  const HubEnvironment environment(hub);
  const std::string folder = download("tiny/siglip2");
  EXPECT_TRUE(fs::is_regular_file(folder + "/tokenizer.json"));
  EXPECT_TRUE(fs::is_regular_file(environment.cache() + "/models--tiny--siglip2/.no_exist/" +
                                  commit + "/spiece.model"));
}

TEST(HubFamilyFiles, UnknownModelTypeFailsBeforeTheWeightsAreFetched) {
  FakeHub hub;
  hub.add_repo("tiny/blip", "6161616161616161616161616161616161616161",
               {{"config.json", R"({"model_type": "blip"})"}, {"model.safetensors", "weights"}});
  const HubEnvironment environment(hub);
  expect_error([] { download("tiny/blip"); }, ErrorCode::kModelInvalid,
               {"config.json", "\"blip\"", "clip, siglip"});
  EXPECT_EQ(heads(hub), std::vector<std::string>{"config.json"});
  EXPECT_EQ(cdn_gets(hub), 0);
}

TEST(HubFamilyFiles, MissingTokenizerIsNamedFromTheFamilysDeclaration) {
  FakeHub hub;
  hub.add_repo("tiny/no-tokenizer", "7171717171717171717171717171717171717171",
               {{"config.json", "{}"},
                {"model.safetensors", "weights"},
                {"preprocessor_config.json", "{}"}});
  const HubEnvironment environment(hub);
  expect_error([] { download("tiny/no-tokenizer"); }, ErrorCode::kModelInvalid,
               {"tiny/no-tokenizer", "tokenizer.json or vocab.json + merges.txt", "clip model"});
  EXPECT_FALSE(fs::exists(environment.cache() + "/models--tiny--no-tokenizer/refs/main"));
}

TEST(HubFamilyFiles, RepoWithoutConfigNamesTheSupportedFamilies) {
  FakeHub hub;
  hub.add_repo("tiny/no-config", "8181818181818181818181818181818181818181",
               {{"model.safetensors", "weights"}});
  const HubEnvironment environment(hub);
  expect_error([] { download("tiny/no-config"); }, ErrorCode::kModelInvalid,
               {"tiny/no-config", "config.json", "clip, siglip"});
  EXPECT_EQ(cdn_gets(hub), 0);
}

}  // namespace
}  // namespace zeroshot::testing
