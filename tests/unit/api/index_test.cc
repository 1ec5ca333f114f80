// zeroshot::Index (src/api/index.cc) through the public API, on the tiny fixture model: what the
// CLI tests reach awkwardly: copies of one new content decoded once, progress, classify against
// Model::classify_embedding of the same file, search by embedding and by Image, read mode,
// read_info, the identity recorded, bad calls.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/expect_error.h"
#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
std::string image(const std::string& name) {
  return std::string(ZEROSHOT_FIXTURES) + "/images/" + name;
}

struct Folder {
  fs::path dir;
  Folder() {
    dir = fs::temp_directory_path() / ("zs_index_api_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "photos");
  }
  ~Folder() { fs::remove_all(dir); }
};

TEST(Index, CopiesOfANewContentAreDecodedOnceAndScoresEqualTheModels) {
  Folder f;
  const fs::path photos = f.dir / "photos";
  fs::copy_file(image("scene_640x480.png"), photos / "a.png");
  fs::copy_file(image("scene_640x480.png"), photos / "b.PNG");  // same content, upper case
  fs::copy_file(image("small_100x80.png"), photos / "c.png");
  std::ofstream(photos / "d.jpg") << "broken";
  const Model model = Model::load({.repo = kModel, .threads = 1});
  const std::string db = (f.dir / "x.db").string();
  auto index = Index::open(db, model, IndexMode::kUpdate, {.repo = kModel});
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  const std::vector<std::string> paths = {photos.string()};
  const IndexUpdate u = index.add(
      paths,
      {.batch = 2, .progress = [&](std::size_t d, std::size_t t) { calls.emplace_back(d, t); }});
  EXPECT_EQ(u.added, 3u);
  EXPECT_EQ(u.reused, 1u);  // b.PNG took a.png's vector in the same batch
  ASSERT_EQ(u.failed.size(), 1u);
  EXPECT_EQ(u.failed[0].path, (photos / "d.jpg").string());
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front(), std::make_pair(std::size_t{0}, std::size_t{4}));
  EXPECT_EQ(calls.back(), std::make_pair(std::size_t{4}, std::size_t{4}));

  const IndexInfo info = index.info();
  EXPECT_EQ(info.repo, fs::absolute(kModel).lexically_normal().string());
  EXPECT_EQ(info.revision, "main");
  EXPECT_EQ(info.family, "clip");
  EXPECT_EQ(info.dim, model.embedding_dim());
  EXPECT_EQ(info.files, 4u);
  EXPECT_EQ(info.vectors, 3u);
  EXPECT_EQ(info.failures, 1u);

  // classify: exactly classify_embedding of each file's own embedding (batched: 1e-6).
  const std::vector<std::string> labels = {"a dog", "a cat", "a tree"};
  const LabelSet set = model.prepare_labels(labels);
  const auto scored = index.classify(set, 2);
  ASSERT_EQ(scored.size(), 3u);
  for (const auto& s : scored) {
    const auto expected =
        model.classify_embedding(model.embed_image(Image::from_file(s.path)), set, 2);
    ASSERT_EQ(s.scores.size(), 2u);
    for (std::size_t k = 0; k < 2; ++k) {
      EXPECT_EQ(s.scores[k].label, expected[k].label);
      EXPECT_NEAR(s.scores[k].score, expected[k].score, 1e-6);
      EXPECT_NEAR(s.scores[k].cosine, expected[k].cosine, 1e-6);
    }
  }

  // Search by Image equals search by its embedding; a and b tie, ordered by path.
  const Image query = Image::from_file(image("scene_640x480_q92.jpg"));
  const auto by_image = index.search(query, {.top_k = 0});
  const auto by_vector = index.search(model.embed_image(query), {.top_k = 0});
  ASSERT_EQ(by_image.size(), 3u);
  ASSERT_EQ(by_vector.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(by_image[i].path, by_vector[i].path);
    EXPECT_NEAR(
        by_image[i].score,
        cosine(model.embed_image(query), model.embed_image(Image::from_file(by_image[i].path))),
        1e-5);
  }
  EXPECT_EQ(by_image[0].path, (photos / "a.png").string());
  EXPECT_EQ(by_image[1].path, (photos / "b.PNG").string());
  EXPECT_EQ(by_image[0].score, by_image[1].score);
  // An indexed image as the query: a cosine of 1 at most, however the floats round.
  const auto self = index.search(Image::from_file((photos / "c.png").string()), {.top_k = 1});
  ASSERT_EQ(self.size(), 1u);
  EXPECT_EQ(self[0].path, (photos / "c.png").string());
  EXPECT_LE(self[0].score, 1.0f);
  EXPECT_NEAR(self[0].score, 1.0f, 1e-5);
  EXPECT_EQ(index.search("a photo", {.top_k = 1}).size(), 1u);
  EXPECT_TRUE(index.search("a photo", {.min_score = 1.5f}).empty());

  expect_error([&] { index.search(std::vector<float>(3, 0.f)); }, ErrorCode::kInvalidArgument,
               {"3 floats", db});
}

TEST(Index, ReadModeAndReadInfoAndAnotherModelRefused) {
  Folder f;
  const Model model = Model::load({.repo = kModel, .threads = 1});
  const std::string db = (f.dir / "x.db").string();
  expect_error([&] { Index::open(db, model, IndexMode::kRead, {.repo = kModel}); },
               ErrorCode::kInvalidArgument, {db, "no such index"});
  {
    auto index = Index::open(db, model, IndexMode::kUpdate, {.repo = kModel});
    EXPECT_TRUE(index.search("anything").empty());  // an empty index: no hits, no error
  }
  const IndexInfo info = Index::read_info(db);
  EXPECT_EQ(info.files, 0u);
  EXPECT_EQ(info.family, "clip");
  auto reader = Index::open(db, model, IndexMode::kRead, {.repo = kModel});
  const std::vector<std::string> paths = {f.dir.string()};
  expect_error([&] { reader.add(paths); }, ErrorCode::kInvalidArgument, {"kUpdate"});
  expect_error(
      [&] { Index::open(db, model, IndexMode::kRead, {.repo = kModel, .revision = "v2"}); },
      ErrorCode::kInvalidArgument, {"revision v2", "another --db file"});
}

}  // namespace
}  // namespace zeroshot
