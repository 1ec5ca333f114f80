// End-to-end tests of --shard I/N (cli/shard.cc): over a folder of the fixture images, the N
// shards are disjoint and together every image, for N = 1, 3 and 7; adding a file to the folder
// moves no other file to another shard; bad shard values (flags and Slurm / Kubernetes variables)
// are usage errors naming what was wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "conformance/reference.h"
#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The fixture images copied into dir/photos (the folder the runs shard), their paths as the CLI
// expands the folder.
std::set<std::string> make_folder(const fs::path& dir) {
  fs::create_directories(dir / "photos");
  std::set<std::string> paths;
  for (const auto& entry : fs::directory_iterator(testing::kFixtures + "/images")) {
    if (entry.path().extension() == ".json") continue;
    fs::copy_file(entry.path(), dir / "photos" / entry.path().filename());
    paths.insert((dir / "photos" / entry.path().filename()).string());
  }
  return paths;
}

// The images `embed --shard index/count` takes from the folder (embed: the cheapest batch run).
std::vector<std::string> shard_images(const fs::path& dir, int index, int count) {
  const fs::path out = dir / ("shard_" + std::to_string(index) + "_of_" + std::to_string(count));
  fs::remove(out);
  const auto r = testing::run_cli({"embed", "--repo", testing::kTinyClip, "-q", "--shard",
                                   std::to_string(index) + "/" + std::to_string(count), "--output",
                                   out.string(), (dir / "photos").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> images;
  std::ifstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto j = json::parse(line);
    EXPECT_TRUE(j.contains("embedding")) << line;
    images.push_back(j["image"]);
  }
  return images;
}

// image -> its shard, checking that the shards are disjoint and together all of `expected`.
std::map<std::string, int> shard_map(const fs::path& dir, int count,
                                     const std::set<std::string>& expected) {
  std::map<std::string, int> shard_of;
  std::size_t total = 0;
  for (int i = 0; i < count; ++i) {
    for (const auto& image : shard_images(dir, i, count)) {
      ++total;
      const auto [it, inserted] = shard_of.emplace(image, i);
      EXPECT_TRUE(inserted) << image << " is in shard " << it->second << " and shard " << i
                            << " of " << count;
    }
  }
  EXPECT_EQ(total, expected.size()) << "shards of " << count;
  std::set<std::string> got;
  for (const auto& [image, shard] : shard_of) got.insert(image);
  EXPECT_EQ(got, expected) << "shards of " << count;
  return shard_of;
}

TEST(ShardCli, DisjointCompleteAndStableWhenAFileIsAdded) {
  const fs::path dir = testing::make_temp_dir("zs_shard_");
  auto images = make_folder(dir);
  ASSERT_GE(images.size(), 20u);
  std::map<int, std::map<std::string, int>> before;
  for (int count : {1, 3, 7}) {
    SCOPED_TRACE(count);
    before[count] = shard_map(dir, count, images);
    if (count > 1) {
      // A real split: no shard of 3 or 7 has every image (a hash that ignored the index would).
      for (int i = 0; i < count; ++i) {
        std::size_t n = 0;
        for (const auto& [image, shard] : before[count]) n += shard == i;
        EXPECT_LT(n, images.size()) << "shard " << i;
      }
    }
  }
  // Add a file that sorts first (so every other file's position in the sorted folder moves).
  fs::copy_file(dir / "photos" / "exact_224x224.png", dir / "photos" / "0_added.png");
  const std::string added = (dir / "photos" / "0_added.png").string();
  images.insert(added);
  for (int count : {1, 3, 7}) {
    SCOPED_TRACE(count);
    auto after = shard_map(dir, count, images);
    EXPECT_EQ(after.count(added), 1u);
    after.erase(added);
    EXPECT_EQ(after, before[count]) << "a file changed shard when another was added";
  }
  fs::remove_all(dir);
}

// Runs `classify` with extra environment variables (set in this process for the one run).
testing::CliResult run_with_env(const std::vector<std::pair<std::string, std::string>>& env,
                                const std::vector<std::string>& args) {
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  auto r = testing::run_cli(args);
  for (const auto& [name, value] : env) ::unsetenv(name.c_str());
  return r;
}

TEST(ShardCli, EnvironmentDefaultsMatchTheFlag) {
  const fs::path dir = testing::make_temp_dir("zs_shard_");
  make_folder(dir);
  const auto by_flag = shard_images(dir, 1, 3);
  const auto run_env = [&](const std::vector<std::pair<std::string, std::string>>& env,
                           std::vector<std::string> extra) {
    const fs::path out = dir / "env.jsonl";
    fs::remove(out);
    std::vector<std::string> args = {"embed", "--repo", testing::kTinyClip, "--output",
                                     out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back((dir / "photos").string());
    const auto r = run_with_env(env, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> images;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) images.push_back(json::parse(line)["image"]);
    return std::make_pair(images, r.err);
  };
  // Slurm: --array=0-2 and --array=5-7 (task 1 of 3 either way).
  auto [slurm, note] = run_env({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}, {});
  EXPECT_EQ(slurm, by_flag);
  EXPECT_NE(note.find("shard 1/3 (from SLURM_ARRAY_TASK_ID)"), std::string::npos) << note;
  EXPECT_EQ(run_env({{"SLURM_ARRAY_TASK_ID", "6"},
                     {"SLURM_ARRAY_TASK_MIN", "5"},
                     {"SLURM_ARRAY_TASK_COUNT", "3"}},
                    {})
                .first,
            by_flag);
  // --shards N in a Slurm array: the task id as it is (--array=1 redoes shard 1 of 3).
  EXPECT_EQ(run_env({{"SLURM_ARRAY_TASK_ID", "1"},
                     {"SLURM_ARRAY_TASK_MIN", "1"},
                     {"SLURM_ARRAY_TASK_COUNT", "1"}},
                    {"--shards", "3"})
                .first,
            by_flag);
  // Kubernetes Indexed Job: JOB_COMPLETION_INDEX with --shards N.
  EXPECT_EQ(run_env({{"JOB_COMPLETION_INDEX", "1"}}, {"--shards", "3"}).first, by_flag);
  // The flag wins over the environment.
  EXPECT_EQ(
      run_env({{"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "5"}}, {"--shard", "1/3"})
          .first,
      by_flag);
  fs::remove_all(dir);
}

TEST(ShardCli, BadValuesAreUsageErrorsNamingTheFlagOrVariable) {
  const std::string image = testing::image_path("exact_224x224.png");
  struct Case {
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> flags;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{}, {"--shard", "3/3"}, "--shard"},
      {{}, {"--shard", "1"}, "--shard"},
      {{}, {"--shard", "a/b"}, "--shard"},
      {{}, {"--shard", "-1/3"}, "--shard"},
      {{}, {"--shard", "0/0"}, "--shard"},
      {{}, {"--shards", "3"}, "--shards"},  // no index in the environment
      {{}, {"--shards", "0"}, "--shards"},
      {{}, {"--shard", "0/2", "--shards", "2"}, "--shard"},
      {{{"JOB_COMPLETION_INDEX", "3"}}, {"--shards", "3"}, "JOB_COMPLETION_INDEX"},
      {{{"JOB_COMPLETION_INDEX", "1"}}, {}, "--shards N"},  // the count is missing
      {{{"JOB_COMPLETION_INDEX", "x"}}, {"--shards", "3"}, "JOB_COMPLETION_INDEX"},
      {{{"SLURM_ARRAY_TASK_ID", "4"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, {}, "SLURM_ARRAY_TASK_ID"},
      {{{"SLURM_ARRAY_TASK_ID", "2"}}, {}, "SLURM_ARRAY_TASK_COUNT"},
      {{{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "two"}},
       {},
       "SLURM_ARRAY_TASK_COUNT"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"classify", "--repo", testing::kTinyClip, "-l", "a dog"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    args.push_back(image);
    const auto r = run_with_env(c.env, args);
    std::string what;
    for (const auto& [n, v] : c.env) what += n + "=" + v + " ";
    for (const auto& f : c.flags) what += f + " ";
    SCOPED_TRACE(what);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.named), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace zeroshot
