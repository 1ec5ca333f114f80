// End-to-end tests of `zeroshot index`, `search` and `classify --db` (cli/index.cc,
// cli/search.cc, src/api/index.cc) against independent computations: search rankings and scores
// against cosines of `embed --json` outputs, classify --db against classify -l, the counts of
// incremental runs (modify, rename, copy, delete), bad index files left byte for byte as they
// were, SIGKILL at random moments then a rerun, and a second writer refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "conformance/reference.h"
#include "e2e/run_cli.h"
#include "index/store.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::slurp;

const std::vector<std::string> kImages = {
    "exact_224x224.png", "small_100x80.png",  "odd_225x301.png",    "scene_150x110.bmp",
    "cmyk_200x150.jpg",  "scene_640x480.png", "gray16_240x180.png", "palette_P_256x256.png"};

// photos/ with the images (one in a subfolder: folders are scanned recursively), a file that is
// not an image and a text file the scan must skip.
fs::path make_folder(const fs::path& dir) {
  const fs::path photos = dir / "photos";
  fs::create_directories(photos / "sub");
  for (std::size_t i = 0; i < kImages.size(); ++i)
    fs::copy_file(testing::image_path(kImages[i]), (i == 0 ? photos / "sub" : photos) / kImages[i]);
  std::ofstream(photos / "broken.jpg") << "not a jpeg";
  std::ofstream(photos / "notes.txt") << "not an image, not scanned";
  return photos;
}

std::vector<std::string> with_model(std::vector<std::string> args) {
  args.insert(args.begin() + 1, {"--repo", testing::kTinyClip, "--threads", "1"});
  return args;
}

json index_json(const fs::path& db, const std::vector<std::string>& paths) {
  std::vector<std::string> args = with_model({"index", "--db", db.string(), "--json", "-q"});
  args.insert(args.end(), paths.begin(), paths.end());
  const auto r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

// path -> score of `search --json --top-k 0` (every indexed image), in the order printed.
std::vector<std::pair<std::string, double>> search_all(const fs::path& db,
                                                       std::vector<std::string> query) {
  std::vector<std::string> args = {"search", "--db", db.string(), "--json", "--top-k", "0"};
  args.insert(args.end(), query.begin(), query.end());
  const auto r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::pair<std::string, double>> hits;
  for (const auto& h : json::parse(r.out)) hits.emplace_back(h["path"], h["score"]);
  return hits;
}

// The embeddings `embed --json` gives, by image path (and "text:" + text).
std::map<std::string, std::vector<double>> embed(const std::vector<fs::path>& images,
                                                 const std::vector<std::string>& texts = {}) {
  std::vector<std::string> args = with_model({"embed", "--json"});
  for (const auto& p : images) args.insert(args.end(), {"--image", p.string()});
  for (const auto& t : texts) args.insert(args.end(), {"--text", t});
  const auto r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<double>> out;
  for (const auto& e : json::parse(r.out)) {
    const std::string key = e.contains("image") ? e["image"].get<std::string>()
                                                : "text:" + e["text"].get<std::string>();
    out[key] = e["embedding"].get<std::vector<double>>();
  }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::vector<fs::path> images_under(const fs::path& folder) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(folder)) {
    const auto ext = e.path().extension().string();
    if (e.is_regular_file() && ext != ".txt" && e.path().filename() != "broken.jpg" &&
        ext != ".db" && ext != ".db-journal")
      out.push_back(fs::absolute(e.path()));
  }
  return out;
}

// The search hits are every image once, each scored as the cosine of the two `embed --json`
// vectors, and ranked by those cosines (ties within float rounding in any order).
void expect_ranking(const std::vector<std::pair<std::string, double>>& hits,
                    const std::map<std::string, std::vector<double>>& reference,
                    const std::vector<double>& query, const std::vector<fs::path>& images) {
  ASSERT_EQ(hits.size(), images.size());
  std::set<std::string> seen;
  for (std::size_t i = 0; i < hits.size(); ++i) {
    const auto& [path, score] = hits[i];
    EXPECT_TRUE(seen.insert(path).second) << path << " twice";
    ASSERT_TRUE(reference.count(path)) << path;
    const double expected = dot(reference.at(path), query);
    EXPECT_NEAR(score, expected, 1e-5) << path;
    if (i > 0) {
      EXPECT_LE(expected, dot(reference.at(hits[i - 1].first), query) + 1e-5)
          << "rank " << i << ": " << path << " should come first";
    }
  }
}

TEST(IndexCli, SearchRanksByTheCosinesOfEmbedForTextAndImageQueries) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const fs::path db = dir / "photos.db";
  const json summary = index_json(db, {photos.string()});
  EXPECT_EQ(summary["added"], kImages.size());
  EXPECT_EQ(summary["updated"], 0);
  EXPECT_EQ(summary["unchanged"], 0);
  EXPECT_EQ(summary["removed"], 0);
  ASSERT_EQ(summary["failed"].size(), 1u);
  EXPECT_EQ(summary["failed"][0]["path"], fs::absolute(photos / "broken.jpg").string());
  EXPECT_EQ(summary["failed"][0]["error"].get<std::string>().rfind("image_decode: ", 0), 0u)
      << summary.dump();

  const auto images = images_under(photos);
  const std::string text = "a photo of a red car";
  const auto reference = embed(images, {text});
  // Text, verbatim; and the same text through --template.
  expect_ranking(search_all(db, {text}), reference, reference.at("text:" + text), images);
  expect_ranking(search_all(db, {"--template", "a photo of {label}", "a red car"}), reference,
                 reference.at("text:" + text), images);
  // An image, indexed or not.
  const fs::path query = testing::image_path("scene_640x480_q92.jpg");
  const auto q = embed({query});
  expect_ranking(search_all(db, {"--image", query.string()}), reference, q.at(query.string()),
                 images);

  // --top-k and --min-score cut the same ranking.
  auto all = search_all(db, {text});
  auto r = testing::run_cli({"search", "--db", db.string(), "--json", "--top-k", "3", text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto top = json::parse(r.out);
  ASSERT_EQ(top.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(top[i]["path"], all[i].first);
  const double cut = all[4].second;
  char min_score[32];
  std::snprintf(min_score, sizeof min_score, "%.9g", cut - 1e-6);
  r = testing::run_cli(
      {"search", "--db", db.string(), "--json", "--top-k", "0", "--min-score", min_score, text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(json::parse(r.out).size(), 5u);
  EXPECT_LT(json::parse(r.out).size(), all.size());  // the cut leaves some out
  for (const auto& h : json::parse(r.out)) EXPECT_GE(h["score"].get<double>(), cut - 1e-6);

  // Text output: "score  path", best first.
  r = testing::run_cli({"search", "--db", db.string(), "--top-k", "1", text});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(all[0].first), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(IndexCli, ClassifyDbEqualsClassifyLLineForLine) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const fs::path db = dir / "photos.db";
  index_json(db, {photos.string()});
  for (const std::vector<std::string>& extra : {std::vector<std::string>{},
                                                {"--raw", "--top-k", "2"},
                                                {"--templates", "openai-imagenet-7"}}) {
    std::vector<std::string> labels = {"-l", "a dog", "-l", "a cat", "-l", "a red car"};
    labels.insert(labels.end(), extra.begin(), extra.end());
    std::vector<std::string> by_files = with_model({"classify", "-q"});
    by_files.insert(by_files.end(), labels.begin(), labels.end());
    for (const auto& p : images_under(photos)) by_files.push_back(p.string());
    std::vector<std::string> by_db = {"classify", "--db", db.string()};
    by_db.insert(by_db.end(), labels.begin(), labels.end());
    const auto files = testing::run_cli(by_files);
    const auto indexed = testing::run_cli(by_db);
    ASSERT_EQ(files.exit_code, 0) << files.err;
    ASSERT_EQ(indexed.exit_code, 0) << indexed.err;
    std::map<std::string, json> expected;
    std::istringstream a(files.out);
    for (std::string line; std::getline(a, line);) {
      const json j = json::parse(line);
      expected[j["image"]] = j;
    }
    std::istringstream b(indexed.out);
    std::size_t lines = 0;
    for (std::string line; std::getline(b, line); ++lines) {
      const json got = json::parse(line);
      ASSERT_TRUE(expected.count(got["image"])) << line;
      const json& want = expected[got["image"]];
      ASSERT_EQ(got.size(), want.size()) << line;
      ASSERT_EQ(got["results"].size(), want["results"].size()) << line;
      for (std::size_t k = 0; k < want["results"].size(); ++k) {
        const auto& g = got["results"][k];
        const auto& w = want["results"][k];
        EXPECT_EQ(g["label"], w["label"]) << line;
        EXPECT_EQ(g.size(), w.size()) << line;
        for (const char* field : {"score", "logit", "cosine"}) {
          if (w.contains(field)) {
            EXPECT_NEAR(g[field].get<double>(), w[field].get<double>(), 1e-6) << field;
          }
        }
      }
    }
    EXPECT_EQ(lines, expected.size());
  }
  fs::remove_all(dir);
}

TEST(IndexCli, ModifyRenameCopyDeleteThenReindexGiveTheRightCountsAndVectors) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const fs::path db = dir / "photos.db";
  index_json(db, {photos.string()});
  // Unchanged: a rerun does nothing.
  json s = index_json(db, {photos.string()});
  EXPECT_EQ(s["added"], 0);
  EXPECT_EQ(s["unchanged"], kImages.size() + 1);  // the recorded failure too
  EXPECT_EQ(s["failed"].size(), 0u);

  // Modify (another image, not in the folder), rename, copy, delete.
  fs::copy_file(testing::image_path("noise_257x263.png"), photos / "small_100x80.png",
                fs::copy_options::overwrite_existing);
  fs::rename(photos / "odd_225x301.png", photos / "renamed.png");
  fs::copy_file(photos / "cmyk_200x150.jpg", photos / "sub" / "copy.jpg");
  fs::remove(photos / "scene_150x110.bmp");
  s = index_json(db, {photos.string()});
  EXPECT_EQ(s["added"], 2) << s.dump();    // renamed.png, sub/copy.jpg
  EXPECT_EQ(s["updated"], 1) << s.dump();  // small_100x80.png
  EXPECT_EQ(s["removed"], 2) << s.dump();  // odd_225x301.png, scene_150x110.bmp
  EXPECT_EQ(s["reused"], 2) << s.dump();   // the rename and the copy: no decode
  EXPECT_EQ(s["unchanged"], kImages.size() + 1 - 3) << s.dump();
  EXPECT_EQ(s["failed"].size(), 0u);

  // Every file there now, once, with the vector embed gives it.
  const auto images = images_under(photos);
  const auto reference = embed(images);
  const fs::path query = testing::image_path("scene_640x480_q92.jpg");
  expect_ranking(search_all(db, {"--image", query.string()}), reference,
                 embed({query}).at(query.string()), images);

  // A file named directly is not removed by a scan of another folder, and gone files named
  // directly are reported.
  fs::create_directories(dir / "other");
  s = index_json(db, {(dir / "other").string(), (dir / "missing.jpg").string()});
  EXPECT_EQ(s["removed"], 0);
  ASSERT_EQ(s["failed"].size(), 1u);
  EXPECT_EQ(s["failed"][0]["path"], (dir / "missing.jpg").string());
  fs::remove_all(dir);
}

TEST(IndexCli, EmptyIndexGivesNoResultsAndTextSummary) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  fs::create_directories(dir / "empty");
  const fs::path db = dir / "e.db";
  auto r = testing::run_cli(with_model({"index", "--db", db.string(), (dir / "empty").string()}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0 added, 0 updated, 0 unchanged, 0 removed, 0 failed"), std::string::npos)
      << r.out;
  r = testing::run_cli({"search", "--db", db.string(), "--json", "a dog"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::array());
  fs::remove_all(dir);
}

TEST(IndexCli, CorruptForeignOrOtherModelIndexIsRefusedAndLeftAsItWas) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  // Not SQLite at all.
  const fs::path garbage = dir / "garbage.db";
  std::string bytes(5000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  std::ofstream(garbage, std::ios::binary) << bytes;
  // Another program's SQLite database.
  const fs::path foreign = dir / "foreign.db";
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &handle), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(handle, "CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('x')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(handle);
  for (const fs::path& db : {garbage, foreign}) {
    SCOPED_TRACE(db.string());
    const std::string before = slurp(db);
    for (const auto& args :
         {with_model({"index", "--db", db.string(), photos.string()}),
          std::vector<std::string>{"search", "--db", db.string(), "a dog"},
          std::vector<std::string>{"classify", "--db", db.string(), "-l", "a", "-l", "b"}}) {
      const auto r = testing::run_cli(args);
      EXPECT_EQ(r.exit_code, 1) << args[0];
      EXPECT_NE(r.err.find(db.string()), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("not a zeroshot index"), std::string::npos) << r.err;
      EXPECT_EQ(slurp(db), before) << args[0];
    }
    EXPECT_FALSE(fs::exists(db.string() + "-journal"));
  }
  // Another model (here: another revision) is refused, saying how to rebuild.
  const fs::path db = dir / "photos.db";
  index_json(db, {photos.string()});
  const std::string before = slurp(db);
  const auto r = testing::run_cli(
      with_model({"index", "--db", db.string(), "--revision", "other", (dir / "photos").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another --db file"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(db), before);
  fs::remove_all(dir);
}

TEST(IndexCli, SigkillAtRandomMomentsThenRerunLeavesEachImageOnceWithItsVector) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const auto images = images_under(photos);
  const auto reference = embed(images);
  const fs::path query = testing::image_path("scene_640x480_q92.jpg");
  const auto q = embed({query}).at(query.string());
  // How long an uninterrupted run takes: kills land from 1 ms to 1.5 times that.
  const auto t0 = std::chrono::steady_clock::now();
  index_json(dir / "timing.db", {photos.string()});
  const int run_ms = std::max(2, static_cast<int>(std::chrono::duration<double, std::milli>(
                                                      std::chrono::steady_clock::now() - t0)
                                                      .count()));
  int kills = 0;
  int partial = 0;  // kills after which the index held some images, not all
  for (unsigned seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 random(seed * 7919u);
    std::uniform_int_distribution<int> delay_ms(1, run_ms * 3 / 2);
    const fs::path db = dir / ("killed_" + std::to_string(seed) + ".db");
    const std::vector<std::string> args =
        with_model({"index", "--db", db.string(), "--batch", "1", "-q", photos.string()});
    for (int attempt = 0; attempt < 8; ++attempt) {
      const pid_t pid = testing::spawn(args);
      ASSERT_GT(pid, 0);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
      ::kill(pid, SIGKILL);
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      if (WIFSIGNALED(status)) {
        ++kills;
        if (fs::exists(db)) {
          const auto r =
              testing::run_cli({"search", "--db", db.string(), "--json", "--top-k", "0", "x"});
          if (r.exit_code == 0) {
            const auto n = json::parse(r.out).size();
            if (n > 0 && n < images.size()) ++partial;
          }
        }
      }
    }
    // The rerun completes the index: every image once, with its vector.
    const json s = index_json(db, {photos.string()});
    EXPECT_EQ(s["removed"], 0);
    expect_ranking(search_all(db, {"--image", query.string()}), reference, q, images);
    // And one more run finds nothing to do.
    const json again = index_json(db, {photos.string()});
    EXPECT_EQ(again["unchanged"], images.size() + 1) << again.dump();
  }
  std::printf("%d kills, %d part-way\n", kills, partial);
  EXPECT_GT(kills, 0);
  fs::remove_all(dir);
}

TEST(IndexCli, SecondWriterStopsWithAClearMessageAndTheFileStaysValid) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const fs::path db = dir / "photos.db";
  index_json(db, {photos.string()});
  {
    // Another writer holds the index (as a running `zeroshot index` does).
    auto holder = index::Store::open(db.string(), index::Store::Mode::kUpdate);
    const auto r = testing::run_cli(with_model({"index", "--db", db.string(), photos.string()}));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("another process is updating this index"), std::string::npos) << r.err;
    // Readers are not blocked by the writer.
    const auto s = testing::run_cli({"search", "--db", db.string(), "--json", "a dog"});
    EXPECT_EQ(s.exit_code, 0) << s.err;
  }
  const json s = index_json(db, {photos.string()});
  EXPECT_EQ(s["unchanged"], kImages.size() + 1);
  EXPECT_EQ(search_all(db, {"a dog"}).size(), kImages.size());
  fs::remove_all(dir);
}

TEST(IndexCli, TwoConcurrentRunsOneStopsWithAClearMessageTheFileStaysValid) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = make_folder(dir);
  const auto images = images_under(photos);
  const fs::path db = dir / "photos.db";
  const std::string err_a = (dir / "a.err").string();
  int refused = 0;
  for (int round = 0; round < 4; ++round) {
    fs::remove(db);
    // Run A in the background (stderr to a file), B in the foreground right after it.
    const std::string a = "timeout 300 " + testing::shell_quote(ZEROSHOT_CLI) + " index --repo " +
                          testing::shell_quote(testing::kTinyClip) + " --batch 1 -q --db " +
                          testing::shell_quote(db.string()) + " " +
                          testing::shell_quote(photos.string()) + " >/dev/null 2>" +
                          testing::shell_quote(err_a) + " & echo $!";
    FILE* pipe = ::popen(a.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    int pid_a = 0;
    ASSERT_EQ(std::fscanf(pipe, "%d", &pid_a), 1);
    ::pclose(pipe);
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 40));
    const auto b = testing::run_cli(
        with_model({"index", "--db", db.string(), "--batch", "1", "-q", photos.string()}));
    while (::kill(pid_a, 0) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    // Each run either did its work or stopped at once naming the other.
    for (const std::string& err : {b.err, slurp(err_a)}) {
      if (!err.empty()) {
        EXPECT_NE(err.find("another process is updating this index"), std::string::npos) << err;
        ++refused;
      }
    }
    EXPECT_TRUE(b.exit_code == 0 || b.exit_code == 1) << b.err;
    // Whatever happened, a rerun completes a valid index: each image once.
    const json s = index_json(db, {photos.string()});
    EXPECT_EQ(s["removed"], 0);
    const auto hits = search_all(db, {"a dog"});
    std::set<std::string> paths;
    for (const auto& [p, score] : hits) paths.insert(p);
    EXPECT_EQ(hits.size(), images.size());
    EXPECT_EQ(paths.size(), images.size());
  }
  std::printf("%d of 8 runs refused by the other\n", refused);
  fs::remove_all(dir);
}

TEST(IndexCli, DupsGroupsThePairsAboveTheThresholdOfEmbedCosines) {
  const fs::path dir = testing::make_temp_dir("zs_index_");
  const fs::path photos = dir / "photos";
  fs::create_directories(photos);
  // Re-encodings of one scene, grey versions of another, and unrelated images.
  for (const char* f :
       {"scene_640x480.png", "scene_640x480_lossless.webp", "scene_640x480_lossy.webp",
        "scene_640x480_q92.jpg", "scene_gray_L.jpg", "scene_gray_L.png", "noise_257x263.png",
        "exact_224x224.png", "tall_20x1000.png"})
    fs::copy_file(testing::image_path(f), photos / f);
  const fs::path db = dir / "photos.db";
  index_json(db, {photos.string()});
  const auto images = images_under(photos);
  const auto reference = embed(images);
  std::vector<std::string> paths;
  for (const auto& [p, e] : reference) paths.push_back(p);  // sorted
  // A threshold in the widest gap between the pair cosines above 0.99: no pair within float
  // rounding of it.
  std::vector<double> cosines;
  for (std::size_t i = 0; i < paths.size(); ++i)
    for (std::size_t j = i + 1; j < paths.size(); ++j)
      cosines.push_back(dot(reference.at(paths[i]), reference.at(paths[j])));
  std::sort(cosines.begin(), cosines.end());
  double threshold = 0, gap = 0;
  for (std::size_t k = 1; k < cosines.size(); ++k) {
    if (cosines[k - 1] >= 0.99 && cosines[k] - cosines[k - 1] > gap) {
      gap = cosines[k] - cosines[k - 1];
      threshold = (cosines[k] + cosines[k - 1]) / 2;
    }
  }
  ASSERT_GT(gap, 1e-5);
  // Single linkage over the reference cosines.
  std::vector<std::size_t> parent(paths.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  const auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i];
    return i;
  };
  for (std::size_t i = 0; i < paths.size(); ++i)
    for (std::size_t j = i + 1; j < paths.size(); ++j)
      if (dot(reference.at(paths[i]), reference.at(paths[j])) >= threshold)
        parent[root(j)] = root(i);
  std::map<std::size_t, std::vector<std::string>> by_root;
  for (std::size_t i = 0; i < paths.size(); ++i) by_root[root(i)].push_back(paths[i]);
  std::vector<std::vector<std::string>> expected;
  for (auto& [r, g] : by_root)
    if (g.size() > 1) expected.push_back(g);
  std::sort(expected.begin(), expected.end());
  ASSERT_FALSE(expected.empty());

  char t[32];
  std::snprintf(t, sizeof t, "%.9g", threshold);
  const auto r = testing::run_cli({"dups", "--db", db.string(), "--threshold", t, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).get<std::vector<std::vector<std::string>>>(), expected)
      << "threshold " << t;
  // Text: the groups' paths, a blank line between groups.
  const auto text = testing::run_cli({"dups", "--db", db.string(), "--threshold", t});
  std::string want;
  for (const auto& g : expected) {
    if (!want.empty()) want += "\n";
    for (const auto& p : g) want += p + "\n";
  }
  EXPECT_EQ(text.out, want);
  EXPECT_EQ(testing::run_cli({"dups", "--db", db.string(), "--threshold", "1.5"}).exit_code, 2);
  fs::remove_all(dir);
}

TEST(IndexCli, UsageErrors) {
  auto r = testing::run_cli({"search", "--db", "x.db"});
  EXPECT_EQ(r.exit_code, 2);
  r = testing::run_cli({"search", "--db", "x.db", "--template", "no placeholder", "dog"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("{label}"), std::string::npos);
  r = testing::run_cli({"classify", "--db", "x.db", "-l", "a", "img.jpg"});
  EXPECT_EQ(r.exit_code, 2);
  r = testing::run_cli({"index", "photos/"});
  EXPECT_EQ(r.exit_code, 2);
  r = testing::run_cli({"search", "--db", "/nonexistent/x.db", "dog"});
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace zeroshot
