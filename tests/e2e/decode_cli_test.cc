// --decode fast|exact through the CLI: every image command takes it; small pictures give exactly
// the output of exact; a camera-size picture (made here with libvips) is reduced and embeds within
// cosine 0.9999 of exact; a bad value is a usage error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "support/pictures.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::image_path;

const std::string kRepo = testing::kTinyClip;

// Runs `args` with --decode exact and --decode fast (and without --decode) and expects the same
// exit code 0 and the same stdout.
void expect_same_output(std::vector<std::string> args) {
  SCOPED_TRACE(args[0]);
  const auto plain = testing::run_cli(args);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  args.insert(args.begin() + 1, {"--decode", "exact"});
  const auto exact = testing::run_cli(args);
  ASSERT_EQ(exact.exit_code, 0) << exact.err;
  args[2] = "fast";
  const auto fast = testing::run_cli(args);
  ASSERT_EQ(fast.exit_code, 0) << fast.err;
  EXPECT_EQ(exact.out, plain.out);
  EXPECT_EQ(fast.out, exact.out);
}

TEST(DecodeCli, SmallPicturesGiveExactOutputEverywhere) {
  const std::string jpg = image_path("scene_640x480_q92.jpg");
  const std::string webp = image_path("scene_640x480_lossy.webp");
  expect_same_output({"classify", "--json", "--repo", kRepo, jpg, "a dog", "a cat"});
  expect_same_output({"label", "--repo", kRepo, webp, "a dog", "a cat"});
  expect_same_output({"similarity", "--repo", kRepo, jpg, webp});
  expect_same_output({"embed", "--json", "--repo", kRepo, "--image", jpg, "--image", webp});
  expect_same_output({"embed", "--repo", kRepo, "-q", jpg, webp});
  expect_same_output({"classify", "--repo", kRepo, "-q", "-l", "a dog", "-l", "a cat", jpg, webp});
}

TEST(DecodeCli, CameraPictureIsReducedAndStaysClose) {
  const fs::path dir = testing::make_temp_dir("zs_decode_cli_");
  const std::string photo = (dir / "photo.jpg").string();
  std::ofstream(photo, std::ios::binary)
      << test::make_picture(image_path("large_1600x1200_q90.jpg"), {.width = 4000, .height = 3000});
  std::vector<std::vector<float>> embeddings;
  for (const char* mode : {"exact", "fast"}) {
    const auto r =
        testing::run_cli({"embed", "--json", "--decode", mode, "--repo", kRepo, "--image", photo});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    embeddings.push_back(json::parse(r.out)[0]["embedding"].get<std::vector<float>>());
  }
  double dot = 0;
  for (std::size_t i = 0; i < embeddings[0].size(); ++i)
    dot += static_cast<double>(embeddings[0][i]) * embeddings[1][i];
  EXPECT_GE(dot, 0.9999);
  EXPECT_NE(embeddings[0], embeddings[1]);  // reduced: not the same pixels
  // The index takes it too (its vector is the fast embedding).
  const auto r = testing::run_cli(
      {"index", "--decode", "fast", "-q", "--repo", kRepo, "--db", (dir / "i.db").string(), photo});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  fs::remove_all(dir);
}

TEST(DecodeCli, UnknownModeIsAUsageError) {
  const auto r = testing::run_cli({"classify", "--decode", "quick", "--repo", kRepo,
                                   image_path("scene_640x480_q92.jpg"), "a dog"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--decode"), std::string::npos) << r.err;
  const auto s = testing::run_cli({"serve", "--decode", "quick"});
  EXPECT_EQ(s.exit_code, 2);
}

}  // namespace
}  // namespace zeroshot
