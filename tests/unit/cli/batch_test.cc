// Unit tests of the batch-run pieces of the CLI: FNV-1a shard hashing (known vectors, so the
// assignment never changes between versions), shard selection, RFC 4180 fields, and how a
// RecordFile recovers a file (torn tail cut, unparsable middle refused, keep_first).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "batch_output.h"
#include "shard.h"
#include "zeroshot/error.h"

namespace zeroshot::cli {
namespace {

namespace fs = std::filesystem;

TEST(Shard, Fnv1aKnownVectorsFixTheAssignment) {
  // 64-bit FNV-1a reference values (http://www.isthe.com/chongo/tech/comp/fnv/): a change of
  // hash would move files between shards of outputs already written.
  EXPECT_EQ(shard_of("", UINT64_MAX), 0xcbf29ce484222325ull % UINT64_MAX);
  EXPECT_EQ(shard_of("a", UINT64_MAX), 0xaf63dc4c8601ec8cull % UINT64_MAX);
  EXPECT_EQ(shard_of("foobar", UINT64_MAX), 0x85944171f73967e8ull % UINT64_MAX);
  EXPECT_EQ(shard_of("anything", 1), 0u);
}

TEST(Shard, SelectionIsDisjointCompleteAndDropsDuplicates) {
  std::vector<std::string> paths;
  for (int i = 0; i < 1000; ++i) paths.push_back("photos/img_" + std::to_string(i) + ".jpg");
  paths.push_back(paths[5]);  // a duplicate
  for (std::uint64_t n : {1u, 2u, 7u, 16u}) {
    std::vector<std::string> all;
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto mine = select_shard(paths, Shard{i, n, "test"});
      // Roughly even: no shard of 1000 has more than twice its share.
      EXPECT_LT(mine.size(), 2 * 1000 / n + 10);
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<std::string> expected(paths.begin(), paths.end() - 1);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(all, expected) << n;
  }
}

TEST(Csv, FieldsQuoteAndReadBack) {
  EXPECT_EQ(csv_field("plain.jpg"), "plain.jpg");
  EXPECT_EQ(csv_field("a,b.jpg"), "\"a,b.jpg\"");
  EXPECT_EQ(csv_field("say \"hi\".jpg"), "\"say \"\"hi\"\".jpg\"");
  EXPECT_EQ(csv_field("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(csv_field(" edge"), "\" edge\"");
  for (const std::string path : {"plain.jpg", "a,b.jpg", "say \"hi\".jpg", "line\nbreak"}) {
    EXPECT_EQ(csv_first_field(csv_field(path) + ",cat,0.5,"), path);
  }
  EXPECT_EQ(csv_first_field("\"unclosed,cat"), std::nullopt);
  EXPECT_EQ(csv_first_field("bad\"quote,cat"), std::nullopt);
}

fs::path temp_file(const std::string& text) {
  static int counter = 0;
  const fs::path p = fs::temp_directory_path() /
                     ("zs_record_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RecordFile::Options lines(const fs::path& p) {
  RecordFile::Options o;
  o.path = p.string();
  o.resume = true;
  o.key_of = [](std::string_view r) -> std::optional<std::string> {
    if (r.empty() || r[0] != 'k') return std::nullopt;
    return std::string(r);
  };
  return o;
}

TEST(RecordFile, TornTailIsCutAndTheRestKept) {
  const auto p = temp_file("k1\nk2\nk3");
  {
    RecordFile f(lines(p));
    EXPECT_EQ(f.recorded(), 2u);
    EXPECT_TRUE(f.has("k2"));
    EXPECT_FALSE(f.has("k3"));
    EXPECT_EQ(f.truncated_bytes(), 2u);
    f.append("k3");
  }
  EXPECT_EQ(slurp(p), "k1\nk2\nk3\n");
  fs::remove(p);
}

TEST(RecordFile, UnparsableLastLineIsRedoneButOneInTheMiddleIsRefused) {
  auto p = temp_file("k1\njunk\n");
  {
    RecordFile f(lines(p));
    EXPECT_EQ(f.recorded(), 1u);
  }
  EXPECT_EQ(slurp(p), "k1\n");
  fs::remove(p);
  p = temp_file("k1\njunk\nk2\n");
  EXPECT_THROW(RecordFile{lines(p)}, Error);
  EXPECT_EQ(slurp(p), "k1\njunk\nk2\n");  // untouched
  fs::remove(p);
}

TEST(RecordFile, KeepFirstCutsRecordsAndForgetsTheirKeys) {
  const auto p = temp_file("k1\nk2\nk3\n");
  RecordFile f(lines(p));
  f.keep_first(1);
  EXPECT_TRUE(f.has("k1"));
  EXPECT_FALSE(f.has("k2"));
  EXPECT_FALSE(f.has("k3"));
  EXPECT_EQ(slurp(p), "k1\n");
  fs::remove(p);
}

TEST(RecordFile, CsvNewlinesInsideQuotesDoNotEndARecord) {
  const auto p = temp_file("image,label\n\"a\nb.jpg\",cat\n\"c.jpg\",d");
  RecordFile::Options o = lines(p);
  o.csv = true;
  o.header = "image,label";
  o.key_of = [](std::string_view r) { return csv_first_field(r); };
  RecordFile f(o);
  EXPECT_EQ(f.recorded(), 1u);
  EXPECT_TRUE(f.has("a\nb.jpg"));
  EXPECT_EQ(slurp(p), "image,label\n\"a\nb.jpg\",cat\n");
  fs::remove(p);
}

TEST(RecordFile, NonEmptyFileWithoutResumeIsAUsageError) {
  const auto p = temp_file("k1\n");
  auto o = lines(p);
  o.resume = false;
  EXPECT_THROW(RecordFile{o}, CLI::ValidationError);
  EXPECT_EQ(slurp(p), "k1\n");
  fs::remove(p);
}

}  // namespace
}  // namespace zeroshot::cli
