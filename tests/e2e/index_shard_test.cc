// `zeroshot index --shard I/N` and `zeroshot index-merge` end to end: the shards of a collection
// are disjoint, each holds exactly the files whose absolute path hashes to it (FNV-1a computed
// here, independently of cli/shard.cc), and their merge equals the unsharded index (same paths,
// same vectors). A merge refuses another model's vectors and foreign files, leaving the result
// byte for byte as it was, and a rerun of a merge changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "index/store.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::slurp;

const std::vector<std::string> kImages = {
    "exact_224x224.png",     "small_100x80.png",      "odd_225x301.png",
    "scene_150x110.bmp",     "cmyk_200x150.jpg",      "scene_640x480.png",
    "gray16_240x180.png",    "palette_P_256x256.png", "odd_301x225.png",
    "scene_640x480_q92.jpg", "near_224x227.png",      "noise_257x263.png",
    "rgb16_200x150.png",     "scene_gray_L.png",      "scene_180x140.tiff",
    "tall_20x1000.png",      "wide_1000x20.png",      "pixel_1x1.png",
    "scene_gray_LA.png",     "strip_7x3.png",         "anim_2frames_160x120.gif"};

// 64-bit FNV-1a of the path, mod n: the shard a path belongs to (docs/BATCH.md).
std::uint64_t fnv1a_shard(const std::string& path, std::uint64_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : path) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h % n;
}

fs::path make_photos(const fs::path& dir) {
  const fs::path photos = dir / "photos";
  fs::create_directories(photos / "sub");
  for (std::size_t i = 0; i < kImages.size(); ++i)
    fs::copy_file(testing::image_path(kImages[i]),
                  (i % 3 == 0 ? photos / "sub" : photos) / kImages[i]);
  std::ofstream(photos / "broken.jpg") << "not a jpeg";
  return photos;
}

testing::CliResult index(const fs::path& db, const fs::path& photos,
                         std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"index",     "--db", db.string(), "--repo", testing::kTinyClip,
                                   "--threads", "1",    "-q",        "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(photos.string());
  return testing::run_cli(args);
}

index::Vectors vectors_of(const fs::path& db) {
  return index::Store::open(db.string(), index::Store::Mode::kRead).vectors();
}

std::vector<index::FileRecord> failures_of(const fs::path& db) {
  return index::Store::open(db.string(), index::Store::Mode::kRead).failures();
}

void expect_same_index(const fs::path& a, const fs::path& b) {
  const auto va = vectors_of(a);
  const auto vb = vectors_of(b);
  ASSERT_EQ(va.paths, vb.paths);
  ASSERT_EQ(va.dim, vb.dim);
  ASSERT_EQ(va.data.size(), vb.data.size());
  for (std::size_t i = 0; i < va.data.size(); ++i)
    ASSERT_NEAR(va.data[i], vb.data[i], 1e-6) << va.paths[i / static_cast<std::size_t>(va.dim)];
  const auto fa = failures_of(a);
  const auto fb = failures_of(b);
  ASSERT_EQ(fa.size(), fb.size());
  for (std::size_t i = 0; i < fa.size(); ++i) {
    EXPECT_EQ(fa[i].path, fb[i].path);
    EXPECT_EQ(fa[i].error, fb[i].error);
    EXPECT_EQ(fa[i].hash, fb[i].hash);
  }
}

TEST(IndexShard, ShardsAreDisjointAndTheirMergeEqualsTheUnshardedIndex) {
  const fs::path dir = testing::make_temp_dir("zs_index_shard_");
  const fs::path photos = make_photos(dir);
  auto all = index(dir / "all.db", photos);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  ASSERT_EQ(vectors_of(dir / "all.db").paths.size(), kImages.size());

  constexpr int kShards = 3;
  std::vector<std::string> parts;
  std::set<std::string> seen;
  std::size_t added = 0;
  for (int i = 0; i < kShards; ++i) {
    const fs::path part = dir / ("part-" + std::to_string(i) + ".db");
    const auto r =
        index(part, photos, {"--shard", std::to_string(i) + "/" + std::to_string(kShards)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    added += json::parse(r.out)["added"].get<std::size_t>();
    parts.push_back(part.string());
    const auto v = vectors_of(part);
    EXPECT_GT(v.paths.size(), 0u) << "shard " << i << " is empty: the test shows nothing";
    for (const auto& path : v.paths) {
      EXPECT_EQ(fnv1a_shard(path, kShards), static_cast<std::uint64_t>(i)) << path;
      EXPECT_TRUE(seen.insert(path).second) << path << " in two shards";
    }
    // broken.jpg: recorded in its own shard only.
    for (const auto& f : failures_of(part))
      EXPECT_EQ(fnv1a_shard(f.path, kShards), static_cast<std::uint64_t>(i)) << f.path;
    // A rerun of the shard changes nothing (another shard's files are not removed or added).
    const auto again =
        index(part, photos, {"--shard", std::to_string(i) + "/" + std::to_string(kShards)});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    const json summary = json::parse(again.out);
    EXPECT_EQ(summary["added"], 0);
    EXPECT_EQ(summary["removed"], 0);
  }
  EXPECT_EQ(seen.size(), kImages.size());
  EXPECT_EQ(added, kImages.size());

  std::vector<std::string> merge = {"index-merge", "--db", (dir / "merged.db").string(), "--json"};
  merge.insert(merge.end(), parts.begin(), parts.end());
  const auto r = testing::run_cli(merge);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json summary = json::parse(r.out);
  EXPECT_EQ(summary["images"], kImages.size());
  EXPECT_EQ(summary["merged"], kImages.size() + 1);  // and broken.jpg's failure
  EXPECT_EQ(summary["shards"], kShards);
  expect_same_index(dir / "merged.db", dir / "all.db");
  // The merged file is an index like any other: the same search results as the unsharded one.
  const auto search = [](const fs::path& db) {
    return testing::run_cli({"search", "--db", db.string(), "--json", "--top-k", "0", "a dog"});
  };
  const auto merged_hits = search(dir / "merged.db");
  const auto all_hits = search(dir / "all.db");
  ASSERT_EQ(merged_hits.exit_code, 0) << merged_hits.err;
  const json m = json::parse(merged_hits.out);
  const json a = json::parse(all_hits.out);
  ASSERT_EQ(m.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(m[i]["path"], a[i]["path"]);
    EXPECT_NEAR(m[i]["score"].get<double>(), a[i]["score"].get<double>(), 1e-6);
  }
  // A rerun of the merge gives the same index.
  ASSERT_EQ(testing::run_cli(merge).exit_code, 0);
  expect_same_index(dir / "merged.db", dir / "all.db");
  // And an incremental `index` of the whole collection on the merged file has nothing to do.
  const auto update = index(dir / "merged.db", photos);
  ASSERT_EQ(update.exit_code, 0) << update.err;
  EXPECT_EQ(json::parse(update.out)["unchanged"], kImages.size() + 1);
  fs::remove_all(dir);
}

TEST(IndexShard, MergeRefusesAnotherModelAndForeignFilesLeavingTheResultAsItWas) {
  const fs::path dir = testing::make_temp_dir("zs_index_merge_");
  const fs::path photos = make_photos(dir);
  ASSERT_EQ(index(dir / "part-0.db", photos, {"--shard", "0/2"}).exit_code, 0);
  ASSERT_EQ(index(dir / "part-1.db", photos, {"--shard", "1/2"}).exit_code, 0);
  ASSERT_EQ(testing::run_cli(
                {"index-merge", "--db", (dir / "out.db").string(), (dir / "part-0.db").string()})
                .exit_code,
            0);
  const std::string before = slurp(dir / "out.db");
  ASSERT_FALSE(before.empty());
  {
    // An index of another model (its identity written through the store itself).
    auto other = index::Store::open((dir / "other.db").string(), index::Store::Mode::kUpdate);
    other.check_or_set_identity({"someone/other-model", "main", "clip", 24});
  }
  std::ofstream(dir / "foreign.db") << "not an index at all";
  const std::string foreign_before = slurp(dir / "foreign.db");
  for (const auto& [file, words] :
       std::vector<std::pair<std::string, std::string>>{{"other.db", "someone/other-model"},
                                                        {"foreign.db", "not a zeroshot index"},
                                                        {"missing.db", "no such index"},
                                                        {"out.db", "merged into"}}) {
    SCOPED_TRACE(file);
    const auto r =
        testing::run_cli({"index-merge", "--db", (dir / "out.db").string(), (dir / file).string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(file), std::string::npos) << r.err;
    EXPECT_TRUE(slurp(dir / "out.db") == before);
  }
  EXPECT_EQ(slurp(dir / "foreign.db"), foreign_before);
  // A shard of another model after a good one: the good one is merged (its own transaction),
  // the other refused; the merge of the rest still completes the index.
  const auto r = testing::run_cli({"index-merge", "--db", (dir / "out.db").string(),
                                   (dir / "part-1.db").string(), (dir / "other.db").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(vectors_of(dir / "out.db").paths.size(), kImages.size());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot
