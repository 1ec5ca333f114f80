// Bad-input classes for model.safetensors (docs/ERRORS.md, "Models"), beyond safetensors_test.cc:
// every malformed file is kModelInvalid naming the file and what is wrong; nothing crashes, hangs
// or allocates in proportion to what a header merely declares.
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "safetensors/safetensors.h"
#include "zeroshot/error.h"

namespace zeroshot::safetensors {
namespace {

namespace fs = std::filesystem;

class SafetensorsBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zs_st_bad_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_raw(const std::string& name, const std::string& bytes) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // [u64 LE header length][header][data]
  std::string write(const std::string& name, const std::string& header, const std::string& data,
                    std::uint64_t declared_len = ~0ull) {
    std::uint64_t len = declared_len == ~0ull ? header.size() : declared_len;
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    return write_raw(name, bytes + header + data);
  }

  // Expects kModelInvalid naming the file and containing `fragment`.
  void expect_invalid(const std::string& path, const std::string& fragment) {
    SCOPED_TRACE(path);
    try {
      File::open(path);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << e.what() << " lacks " << fragment;
    }
  }

  fs::path dir_;
};

const std::string kEight(8, '\0');

TEST_F(SafetensorsBadInput, TooShortFiles) {
  expect_invalid(write_raw("empty", ""), "0 bytes, too short");
  expect_invalid(write_raw("seven", std::string("\x02\0\0\0\0\0\0", 7)), "7 bytes, too short");
}

TEST_F(SafetensorsBadInput, HeaderLengthBeyondTheFile) {
  expect_invalid(write("len1", "{}", "", 3), "exceeds the file size");
  expect_invalid(write("lenmax", "{}", "", ~0ull - 1), "exceeds the file size");
  expect_invalid(write("len2^63", "{}", "", 1ull << 63), "exceeds the file size");
}

TEST_F(SafetensorsBadInput, HeaderLargerThanTheLimit) {
  // A 17 MB header of spaces around "{}": within the file, beyond the header limit.
  std::string header = "{}" + std::string(17u << 20, ' ');
  expect_invalid(write("big", header, ""), "exceeds the limit");
}

TEST_F(SafetensorsBadInput, DeeplyNestedHeaderIsRefusedQuickly) {
  // 8 MB of '[': refused at the first container deeper than a tensor's shape.
  const auto start = std::chrono::steady_clock::now();
  expect_invalid(write("deep", std::string(8u << 20, '['), ""), "nests deeper");
  expect_invalid(
      write("deep_obj", R"({"a":{"shape":[[2]],"dtype":"F32","data_offsets":[0,8]}})", kEight),
      "nests deeper");
  expect_invalid(write("deep_meta", R"({"__metadata__":{"k":{"x":{}}}})", ""), "nests deeper");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SafetensorsBadInput, MalformedJson) {
  expect_invalid(write("trunc", R"({"a":{"dtype":"F32")", ""), "not valid JSON");
  expect_invalid(write("utf8", "{\"\xff\xfe\":{}}", ""), "not valid JSON");
  expect_invalid(write("nul", std::string("{\0}", 3), ""), "not valid JSON");
  expect_invalid(write("string", "\"F32\"", ""), "not a JSON object");
  expect_invalid(write("meta", R"({"__metadata__":[1]})", ""), "__metadata__");
}

TEST_F(SafetensorsBadInput, MalformedEntries) {
  struct Case {
    const char* name;
    const char* header;
    const char* fragment;
  };
  const Case cases[] = {
      {"entry", R"({"w":[1,2]})", "tensor 'w' is not an object"},
      {"nodtype", R"({"w":{"shape":[2],"data_offsets":[0,8]}})", "tensor 'w' has no dtype"},
      {"dtypeint", R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", "no dtype"},
      {"dtype", R"({"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", "unknown dtype 'f32'"},
      {"noshape", R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", "tensor 'w' has no shape"},
      {"shapeobj", R"({"w":{"dtype":"F32","shape":{"0":2},"data_offsets":[0,8]}})", "no shape"},
      {"shapefloat", R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
       "non-negative integer"},
      {"shapeneg", R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
       "non-negative integer"},
      {"shapestr", R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})",
       "non-negative integer"},
      {"rank9", R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,2],"data_offsets":[0,8]}})",
       "more than 8 dimensions"},
      {"overflow",
       R"({"w":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,8]}})",
       "absurdly large"},
      {"nooffsets", R"({"w":{"dtype":"F32","shape":[2]}})", "data_offsets"},
      {"offsets3", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", "data_offsets"},
      {"offsetsneg", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})",
       "non-negative integer"},
      {"offsetsfloat", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}})",
       "non-negative integer"},
      {"reversed", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "outside"},
      {"beyond", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", "outside"},
      {"huge", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})",
       "outside"},
      {"size", R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}})", "needs 4"},
      {"overlap", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                      "b":{"dtype":"U8","shape":[2],"data_offsets":[7,9]}})",
       "overlap"},
  };
  for (const auto& c : cases) expect_invalid(write(c.name, c.header, kEight + "\1"), c.fragment);
}

TEST_F(SafetensorsBadInput, EveryTruncationOfTheFixtureIsRejected) {
  std::ifstream in(std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/model.safetensors",
                   std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 1000u);
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<std::uint8_t>(bytes[i]);
  // Inside the length field, inside the header and inside the data.
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{9},
                        std::size_t(8 + header_len / 2), std::size_t(8 + header_len),
                        std::size_t(8 + header_len + 1), bytes.size() / 2, bytes.size() - 1}) {
    auto path = write_raw("trunc_" + std::to_string(n), bytes.substr(0, n));
    try {
      File::open(path);
      ADD_FAILURE() << "accepted a truncation to " << n << " bytes";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST_F(SafetensorsBadInput, PathsThatAreNotFiles) {
  // A missing file, a directory and a FIFO (which must not block waiting for a writer).
  try {
    File::open((dir_ / "missing.safetensors").string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelNotFound);
    EXPECT_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
  }
  for (const char* kind : {"dir", "fifo"}) {
    auto path = (dir_ / kind).string();
    if (std::string(kind) == "dir")
      fs::create_directory(path);
    else
      ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    try {
      File::open(path);
      ADD_FAILURE() << kind;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
}

TEST_F(SafetensorsBadInput, ValidEdgeCasesAreAccepted) {
  // No tensors; a 0-d tensor; an empty tensor; unused bytes between tensors (HF tolerates padding).
  EXPECT_TRUE(File::open(write("none", "{}", "")).tensors().empty());
  auto f = File::open(write("edge", R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},
                        "e":{"dtype":"BF16","shape":[0,3],"data_offsets":[4,4]},
                        "t":{"dtype":"F16","shape":[1],"data_offsets":[6,8]}})",
                            kEight));
  EXPECT_EQ(f.tensors().at("s").numel(), 1);
  EXPECT_EQ(f.tensors().at("e").numel(), 0);
  EXPECT_EQ(f.tensors().at("t").nbytes, 2u);
}

}  // namespace
}  // namespace zeroshot::safetensors
