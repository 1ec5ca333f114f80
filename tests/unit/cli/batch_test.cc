// Unit tests of the batch-run pieces of the CLI: FNV-1a shard hashing (known vectors, so the
// assignment never changes between versions), shard selection, RFC 4180 fields, and how a
// RecordFile recovers a file (torn tail cut, unparsable middle refused, keep_first), and which
// damaged or mismatched output files are usage errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "batch_output.h"
#include "npy_output.h"
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

// The exit-code rule for --output/--resume files (docs/ERRORS.md): this command's file made with
// other arguments (other labels, another model) is a usage error (CLI::ValidationError, exit code
// 2); a file that is not this command's output (damaged, another program's) is an Error (exit
// code 1), header and records alike. Neither touches the file.
TEST(RecordFile, OtherLabelsAreAUsageErrorAForeignHeaderIsNot) {
  const auto csv = [](const fs::path& p) {
    RecordFile::Options o;
    o.path = p.string();
    o.resume = true;
    o.csv = true;
    o.header_kind = "image,label,score,error";
    o.header = o.header_kind + ",dog,cat";
    o.key_of = [](std::string_view r) { return csv_first_field(r); };
    return o;
  };
  for (const std::string other :
       {"image,label,score,error,dog,bird\n", "image,label,score,error\n"}) {
    const auto p = temp_file(other + "a.jpg,dog,0.9,,0.9,0.1\n");
    EXPECT_THROW(RecordFile{csv(p)}, CLI::ValidationError) << other;
    EXPECT_EQ(slurp(p), other + "a.jpg,dog,0.9,,0.9,0.1\n");
    fs::remove(p);
  }
  for (const std::string foreign :
       {"name,age\n", "image,label,score,errors,dog,cat\n", "{\"image\": \"a.jpg\"}\n"}) {
    const auto p = temp_file(foreign + "x\n");
    try {
      RecordFile f(csv(p));
      ADD_FAILURE() << "accepted " << foreign;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("not a result of this command"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("use a new --output file"), std::string::npos)
          << e.what();
    }
    EXPECT_EQ(slurp(p), foreign + "x\n");
    fs::remove(p);
  }
  // The header this run writes is accepted, and its records recovered.
  const auto p = temp_file("image,label,score,error,dog,cat\na.jpg,dog,0.9,,0.9,0.1\n");
  RecordFile f(csv(p));
  EXPECT_TRUE(f.has("a.jpg"));
  fs::remove(p);
}

TEST(NpyRows, AnotherModelsDimensionIsAUsageErrorAForeignFileIsNot) {
  const fs::path p = temp_file("");
  {
    NpyRows rows(p.string(), 4, /*resume=*/false, "--output");
    rows.append(std::vector<float>{1, 2, 3, 4});
    rows.sync();
  }
  const std::string before = slurp(p);
  EXPECT_THROW(NpyRows(p.string(), 5, /*resume=*/true, "--output"), CLI::ValidationError);
  EXPECT_EQ(slurp(p), before);
  NpyRows same(p.string(), 4, /*resume=*/true, "--output");
  EXPECT_EQ(same.rows(), 1u);
  const fs::path foreign = temp_file(std::string(200, 'x'));
  try {
    NpyRows rows(foreign.string(), 4, /*resume=*/true, "--output");
    ADD_FAILURE() << "accepted a file that is not .npy";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  fs::remove(p);
  fs::remove(foreign);
}

}  // namespace
}  // namespace zeroshot::cli
