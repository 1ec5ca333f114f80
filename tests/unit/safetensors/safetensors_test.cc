#include "safetensors/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "zeroshot/error.h"

namespace zeroshot::safetensors {
namespace {

const std::string kTiny = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip/model.safetensors";

// Writes [u64 header length][header][data] to a temp file and returns its path.
std::string write_file(const std::string& name, const std::string& header, const std::string& data,
                       std::uint64_t declared_len = ~0ull) {
  auto path = (std::filesystem::temp_directory_path() / ("zs_st_" + name)).string();
  std::ofstream out(path, std::ios::binary);
  std::uint64_t len = declared_len == ~0ull ? header.size() : declared_len;
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

void expect_invalid(const std::string& path, const char* fragment) {
  try {
    File::open(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelInvalid) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Safetensors, ReadsTheFixture) {
  auto file = File::open(kTiny);
  const auto& t = file.tensors();
  ASSERT_TRUE(t.count("vision_model.embeddings.patch_embedding.weight"));
  const auto& patch = t.at("vision_model.embeddings.patch_embedding.weight");
  EXPECT_EQ(patch.dtype, tensor::DType::kF32);
  EXPECT_EQ(patch.shape, (std::vector<std::int64_t>{64, 3, 32, 32}));
  EXPECT_EQ(patch.nbytes, 64u * 3 * 32 * 32 * 4);
  const auto& scale = t.at("logit_scale");
  EXPECT_TRUE(scale.shape.empty());
  float v;
  std::memcpy(&v, scale.data, 4);
  EXPECT_NEAR(v, 4.605170249938965, 1e-6);  // ln 100, from reference/tiny-clip.json
  EXPECT_EQ(t.at("text_model.embeddings.position_ids").dtype_name, "I64");
  EXPECT_EQ(file.metadata().at("format"), "pt");
}

TEST(Safetensors, RejectsHostileHeaders) {
  const std::string f32x2(8, '\0');
  expect_invalid(write_file("empty", "", ""), "not valid JSON");
  expect_invalid(write_file("len", "{}", "", 1000), "exceeds the file size");
  expect_invalid(write_file("json", "{\"a\":", ""), "not valid JSON");
  expect_invalid(write_file("array", "[1,2]", ""), "not a JSON object");
  expect_invalid(
      write_file("dtype", R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", f32x2),
      "unknown dtype 'Q4'");
  expect_invalid(
      write_file("range", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32x2),
      "outside");
  expect_invalid(
      write_file("size", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2),
      "needs 12");
  expect_invalid(write_file("overlap",
                            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                "b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                            f32x2),
                 "overlap");
  expect_invalid(
      write_file("neg", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2),
      "non-negative");
  expect_invalid(write_file("huge",
                            R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],
                                "data_offsets":[0,8]}})",
                            f32x2),
                 "absurdly large");
}

TEST(Safetensors, TruncatedFixtureIsRejected) {
  std::ifstream in(kTiny, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto path = (std::filesystem::temp_directory_path() / "zs_st_truncated").string();
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_invalid(path, "outside");
}

TEST(Safetensors, MissingFileIsModelNotFound) {
  try {
    File::open("/nonexistent/model.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kModelNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace zeroshot::safetensors
