// End-to-end tests of --output FILE --resume (cli/batch_output.cc, cli/npy_output.cc): a run
// killed with SIGKILL at random moments and restarted with --resume until it finishes leaves each
// image exactly once and the same bytes as an uninterrupted run (classify JSON lines and CSV,
// embed .npy + index); a torn or unparsable last line is cut and redone; an existing file is
// never overwritten without --resume.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "conformance/reference.h"
#include "e2e/run_cli.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::slurp;

// A folder of small fixture images (quick to run many times) and one that does not decode.
fs::path make_folder(const fs::path& dir) {
  const fs::path photos = dir / "photos";
  fs::create_directories(photos);
  for (const char* f : {"exact_224x224.png", "small_100x80.png", "odd_225x301.png", "pixel_1x1.png",
                        "strip_7x3.png", "scene_150x110.bmp", "cmyk_200x150.jpg"})
    fs::copy_file(testing::image_path(f), photos / f);
  std::ofstream(photos / "broken.jpg") << "not a jpeg";
  return photos;
}

const std::vector<std::string> kLabels = {"-l", "a dog", "-l", "a cat", "-l", "a car, red"};

// The command of one mode, writing `out`. --batch 1: each image's numbers are then independent of
// which images share its batch, so the files can be compared byte for byte (with larger batches
// the last bits of a float32 may differ with the batch's make-up, interrupted or not).
std::vector<std::string> command(const std::string& mode, const fs::path& photos,
                                 const fs::path& out) {
  std::vector<std::string> args;
  if (mode == "npy") {
    args = {"embed", "--format", "npy"};
  } else {
    args = {"classify", "--format", mode};
    args.insert(args.end(), kLabels.begin(), kLabels.end());
  }
  const std::vector<std::string> common = {
      "--repo",   testing::kTinyClip, "--batch",      "1", "--threads", "1", "-q",
      "--output", out.string(),       photos.string()};
  args.insert(args.end(), common.begin(), common.end());
  return args;
}

// Every output file of a run to `out` (npy: the matrix, its index and its errors).
std::string outputs(const std::string& mode, const fs::path& out) {
  if (mode != "npy") return slurp(out);
  const std::string stem = out.string().substr(0, out.string().size() - 4);
  return slurp(out) + "\n--paths--\n" + slurp(stem + ".paths.txt") + "\n--errors--\n" +
         slurp(stem + ".errors.jsonl");
}

TEST(ResumeCli, SigkillAtRandomMomentsThenResumeGivesEachImageOnceAndTheSameBytes) {
  const auto started = std::chrono::steady_clock::now();
  const fs::path dir = testing::make_temp_dir("zs_resume_");
  const fs::path photos = make_folder(dir);
  int partial_kills = 0;  // kills that left a run part-way (the file had some results, not all)
  int kills = 0;
  for (const std::string mode : {"jsonl", "csv", "npy"}) {
    SCOPED_TRACE(mode);
    const fs::path ref = dir / ("reference." + mode);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = testing::run_cli(command(mode, photos, ref));
    // Kills land from the start to 1.5 times an uninterrupted run: while the model loads, between
    // and inside the writes, and (a third of the time) after the run finished by itself.
    const int run_ms = static_cast<int>(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_EQ(r.exit_code, 1) << r.err;  // broken.jpg fails; every other image has its result
    const std::string expected = outputs(mode, ref);
    if (mode == "jsonl") {
      // Each image exactly once, the broken one as an error line.
      std::multiset<std::string> images;
      std::istringstream in(expected);
      for (std::string line; std::getline(in, line);) images.insert(json::parse(line)["image"]);
      EXPECT_EQ(images.size(), 8u);
      EXPECT_EQ(std::set<std::string>(images.begin(), images.end()).size(), 8u);
    }
    for (unsigned seed : {1u, 2u, 3u}) {
      SCOPED_TRACE("seed " + std::to_string(seed));
      std::mt19937 random(seed * 7919u + static_cast<unsigned>(mode.size()));
      std::uniform_int_distribution<int> delay_ms(1, run_ms * 3 / 2);
      const fs::path out = dir / ("killed_" + std::to_string(seed) + "." + mode);
      auto args = command(mode, photos, out);
      args.push_back("--resume");  // also on the first run: --resume of no file starts one
      int status = 0;
      int attempts = 0;
      for (;; ++attempts) {
        ASSERT_LT(attempts, 60) << "no run finished";
        const pid_t pid = testing::spawn(args);
        ASSERT_GT(pid, 0);
        // After 20 kills, let a run finish (bounds the test's time on a slow machine).
        if (attempts < 20) {
          std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
          ::kill(pid, SIGKILL);
        }
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) break;  // it finished before the kill
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        ++kills;
        const std::string so_far = outputs(mode, out);
        if (!so_far.empty() && so_far.size() < expected.size()) ++partial_kills;
      }
      // 1 if this last run did broken.jpg (it counts only its own failures), else 0.
      EXPECT_LE(WEXITSTATUS(status), 1);
      EXPECT_TRUE(outputs(mode, out) == expected)
          << "after " << attempts << " kills the output differs from an uninterrupted run";
    }
  }
  EXPECT_GT(partial_kills, 0) << "no kill landed part-way through a run";
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%d kills, %d of them part-way through a run's output, %.1f s\n", kills,
              partial_kills, seconds);
  fs::remove_all(dir);
}

TEST(ResumeCli, TornOrUnparsableLastLineIsCutAndRedone) {
  const fs::path dir = testing::make_temp_dir("zs_resume_");
  const fs::path photos = make_folder(dir);
  for (const std::string mode : {"jsonl", "csv"}) {
    SCOPED_TRACE(mode);
    const fs::path ref = dir / ("reference." + mode);
    ASSERT_EQ(testing::run_cli(command(mode, photos, ref)).exit_code, 1);
    const std::string expected = slurp(ref);
    // The first three lines, then: half of the fourth (no newline), or a line that is not JSON.
    std::size_t third = 0;
    for (int i = 0; i < 3; ++i) third = expected.find('\n', third) + 1;
    const std::size_t fourth = expected.find('\n', third) + 1;
    for (const std::string& tail :
         {expected.substr(third, (fourth - third) / 2),
          std::string(mode == "csv" ? "\"unclosed,quote\n" : "{\"ima\n")}) {
      const fs::path out = dir / ("torn." + mode);
      std::ofstream(out, std::ios::binary) << expected.substr(0, third) << tail;
      auto args = command(mode, photos, out);
      args.push_back("--resume");
      const auto r = testing::run_cli(args);
      EXPECT_EQ(r.exit_code, 0) << r.err;  // broken.jpg (the first line) was already recorded
      EXPECT_EQ(slurp(out), expected);
    }
  }
  fs::remove_all(dir);
}

TEST(ResumeCli, NpyRowsAndIndexAreCutToWhatBothHave) {
  const fs::path dir = testing::make_temp_dir("zs_resume_");
  const fs::path photos = make_folder(dir);
  const fs::path ref = dir / "reference.npy";
  ASSERT_EQ(testing::run_cli(command("npy", photos, ref)).exit_code, 1);
  const std::string expected = outputs("npy", ref);
  const std::string rows = slurp(ref);
  const std::string paths = slurp(dir / "reference.paths.txt");
  ASSERT_EQ(rows.substr(0, 6), "\x93NUMPY");
  const std::size_t header = 128;
  const std::size_t row = (rows.size() - header) / 7;  // 7 images decode, broken.jpg does not
  ASSERT_EQ(rows.size(), header + 7 * row);
  // As a kill can leave it: 4 rows and half of the 5th in the matrix (its header naming a
  // count that is not the rows' count), 3 index lines and a torn 4th, no errors file yet.
  std::size_t third = 0;
  for (int i = 0; i < 3; ++i) third = paths.find('\n', third) + 1;
  const fs::path out = dir / "killed.npy";
  std::string stale = rows.substr(0, header + 4 * row + row / 2);
  std::ofstream(out, std::ios::binary) << stale;
  std::ofstream(dir / "killed.paths.txt", std::ios::binary) << paths.substr(0, third + 5);
  auto args = command("npy", photos, out);
  args.push_back("--resume");
  const auto r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // broken.jpg was not recorded yet
  EXPECT_TRUE(outputs("npy", out) == expected);
  fs::remove_all(dir);
}

TEST(ResumeCli, ExistingOutputNeedsResume) {
  const fs::path dir = testing::make_temp_dir("zs_resume_");
  const fs::path photos = make_folder(dir);
  for (const std::string mode : {"jsonl", "npy"}) {
    SCOPED_TRACE(mode);
    const fs::path out = dir / ("out." + mode);
    ASSERT_EQ(testing::run_cli(command(mode, photos, out)).exit_code, 1);
    const std::string before = outputs(mode, out);
    const auto r = testing::run_cli(command(mode, photos, out));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
    EXPECT_EQ(outputs(mode, out), before);  // untouched
    // Resuming a finished file does nothing.
    auto args = command(mode, photos, out);
    args.push_back("--resume");
    EXPECT_EQ(testing::run_cli(args).exit_code, 0);
    EXPECT_EQ(outputs(mode, out), before);
  }
  // --resume without --output, batch flags without a batch run, and other labels than the
  // file's are usage errors.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"classify", "--output", (dir / "x").string(),
                                 testing::image_path("exact_224x224.png"), "a dog", "a cat"},
        std::vector<std::string>{"embed", "--format", "npy", "--image",
                                 testing::image_path("exact_224x224.png")},
        std::vector<std::string>{"embed", "--format", "npy", photos.string()}}) {
    auto with_repo = args;
    with_repo.insert(with_repo.begin() + 1, {"--repo", testing::kTinyClip});
    const auto usage = testing::run_cli(with_repo);
    EXPECT_EQ(usage.exit_code, 2) << usage.err;
    EXPECT_FALSE(fs::exists(dir / "x"));
  }
  auto r = testing::run_cli(
      {"classify", "--repo", testing::kTinyClip, "-l", "a dog", "--resume", photos.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = testing::run_cli({"classify", "--repo", testing::kTinyClip, "-l", "a bird", "--output",
                        (dir / "out.jsonl").string(), "--resume", photos.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("same labels"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot
