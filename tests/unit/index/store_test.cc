// The index file: round trips, the model identity, foreign and damaged files left untouched, one
// writer at a time, and atomic groups under SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "index/store.h"
#include "zeroshot/error.h"

namespace zeroshot::index {
namespace {

namespace fs = std::filesystem;

class IndexStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("zeroshot_index_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const Identity kModel{"org/model", "main", "clip", 3};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(IndexStore, RoundTripAcrossReopen) {
  const std::string db = path("a.zsdb");
  {
    auto store = Store::open(db, Store::Mode::kUpdate);
    EXPECT_FALSE(store.identity().has_value());
    EXPECT_EQ(store.vectors().paths.size(), 0u);
    store.check_or_set_identity(kModel);
    store.begin();
    const float b[] = {0, 1, 0};
    const float a[] = {1, 0, 0};
    store.put({"/p/b.jpg", 20, 200, "hb", std::nullopt}, b);
    store.put({"/p/a.jpg", 10, 100, "ha", std::nullopt}, a);
    store.put({"/p/bad.jpg", 5, 50, "hx", "image_decode: truncated"}, {});
    store.commit();
  }
  auto store = Store::open(db, Store::Mode::kRead);
  ASSERT_TRUE(store.identity().has_value());
  EXPECT_EQ(store.identity()->model, "org/model");
  EXPECT_EQ(store.identity()->dim, 3);
  EXPECT_EQ(store.file_count(), 3u);
  EXPECT_EQ(store.vector_count(), 2u);
  const auto v = store.vectors();
  ASSERT_EQ(v.paths, (std::vector<std::string>{"/p/a.jpg", "/p/b.jpg"}));
  EXPECT_EQ(v.data, (std::vector<float>{1, 0, 0, 0, 1, 0}));
  const auto rec = store.file("/p/b.jpg");
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->size, 20);
  EXPECT_EQ(rec->mtime_ns, 200);
  EXPECT_EQ(rec->hash, "hb");
  EXPECT_FALSE(rec->error.has_value());
  EXPECT_FALSE(store.file("/p/none.jpg").has_value());
  EXPECT_EQ(store.vector_for_hash("hb"), (std::vector<float>{0, 1, 0}));
  EXPECT_FALSE(store.vector_for_hash("hx").has_value());  // a failure has no vector
  const auto failures = store.failures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].path, "/p/bad.jpg");
  EXPECT_EQ(failures[0].error, "image_decode: truncated");
}

TEST_F(IndexStore, ReplaceRemoveAndPathsUnderAFolder) {
  auto store = Store::open(path("a.zsdb"), Store::Mode::kUpdate);
  store.check_or_set_identity(kModel);
  const float x[] = {1, 0, 0};
  for (const char* p : {"/a/b/1.jpg", "/a/b/sub/2.jpg", "/a/bc/3.jpg", "/a/b0.jpg", "/a/4.jpg"})
    store.put({p, 1, 1, p, std::nullopt}, x);
  EXPECT_EQ(store.paths_under("/a/b"), (std::vector<std::string>{"/a/b/1.jpg", "/a/b/sub/2.jpg"}));
  EXPECT_EQ(store.paths_under("/a/b/"), store.paths_under("/a/b"));
  const float y[] = {0, 0, 1};
  store.put({"/a/4.jpg", 2, 2, "new", std::nullopt}, y);  // changed file: replaced
  EXPECT_EQ(store.file("/a/4.jpg")->hash, "new");
  EXPECT_EQ(store.file_count(), 5u);
  store.remove("/a/bc/3.jpg");
  EXPECT_EQ(store.file_count(), 4u);
  EXPECT_FALSE(store.file("/a/bc/3.jpg").has_value());
}

TEST_F(IndexStore, AnotherModelIsRefusedNamingBoth) {
  const std::string db = path("a.zsdb");
  {
    auto store = Store::open(db, Store::Mode::kUpdate);
    store.check_or_set_identity(kModel);
    store.check_or_set_identity(kModel);  // the same model again: fine
  }
  auto store = Store::open(db, Store::Mode::kUpdate);
  const auto message = error_of([&] {
    store.check_or_set_identity({"org/other", "main", "siglip", 3});
  });
  EXPECT_NE(message.find("org/model"), std::string::npos) << message;
  EXPECT_NE(message.find("org/other"), std::string::npos) << message;
  EXPECT_THROW(store.check_or_set_identity({"org/model", "main", "clip", 4}), Error);
  EXPECT_EQ(store.identity()->model, "org/model");  // unchanged
}

TEST_F(IndexStore, WrongVectorSizeIsAnError) {
  auto store = Store::open(path("a.zsdb"), Store::Mode::kUpdate);
  store.check_or_set_identity(kModel);
  const float four[] = {1, 0, 0, 0};
  EXPECT_THROW(store.put({"/x.jpg", 1, 1, "h", std::nullopt}, four), Error);
  EXPECT_EQ(store.file_count(), 0u);
}

// Files that are not our index: refused with a message naming the file, left byte for byte.
TEST_F(IndexStore, ForeignAndDamagedFilesAreLeftAsTheyWere) {
  // Another program's SQLite database.
  const std::string other = path("other.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE photos (name TEXT); INSERT INTO photos VALUES ('x')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  // Not SQLite at all, and a real index with its pages damaged.
  const std::string text = path("notes.txt");
  std::ofstream(text) << "these are my notes, not an index\n";
  std::mt19937 rng(7);
  std::string noise(8192, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  const std::string random = path("random.bin");
  std::ofstream(random, std::ios::binary) << noise;
  const std::string damaged = path("damaged.zsdb");
  {
    auto store = Store::open(damaged, Store::Mode::kUpdate);
    store.check_or_set_identity(kModel);
  }
  {
    std::string bytes = read_bytes(damaged);
    ASSERT_GT(bytes.size(), 100u);
    for (std::size_t i = 16; i < 100; ++i) bytes[i] = static_cast<char>(0xA5);  // the header
    std::ofstream(damaged, std::ios::binary | std::ios::trunc) << bytes;
  }
  for (const std::string& f : {other, text, random, damaged}) {
    const std::string before = read_bytes(f);
    for (auto mode : {Store::Mode::kUpdate, Store::Mode::kRead}) {
      const auto message = error_of([&] {
        auto store = Store::open(f, mode);
        store.check_or_set_identity(kModel);
        (void)store.vectors();
      });
      EXPECT_NE(message.find(f), std::string::npos) << f << ": " << message;
      EXPECT_NE(message.find("not a zeroshot index"), std::string::npos) << message;
    }
    EXPECT_EQ(read_bytes(f), before) << f;
    EXPECT_FALSE(fs::exists(f + "-journal")) << f;
  }
}

TEST_F(IndexStore, ANewerFormatIsRefused) {
  const std::string db = path("a.zsdb");
  { auto store = Store::open(db, Store::Mode::kUpdate); }
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  const auto message = error_of([&] { Store::open(db, Store::Mode::kRead); });
  EXPECT_NE(message.find("newer"), std::string::npos) << message;
}

TEST_F(IndexStore, MissingFileAndFolderAreClearErrors) {
  EXPECT_NE(
      error_of([&] { Store::open(path("none.zsdb"), Store::Mode::kRead); }).find("no such index"),
      std::string::npos);
  EXPECT_FALSE(fs::exists(path("none.zsdb")));  // reading never creates it
  EXPECT_NE(error_of([&] { Store::open(dir_.string(), Store::Mode::kUpdate); }).find("folder"),
            std::string::npos);
}

TEST_F(IndexStore, OneWriterAtATimeReadersAlongside) {
  const std::string db = path("a.zsdb");
  auto writer = Store::open(db, Store::Mode::kUpdate);
  writer.check_or_set_identity(kModel);
  const auto message = error_of([&] { Store::open(db, Store::Mode::kUpdate); });
  EXPECT_NE(message.find("another process is updating"), std::string::npos) << message;
  auto reader = Store::open(db, Store::Mode::kRead);
  EXPECT_EQ(reader.identity()->model, "org/model");
}

// A process killed inside a group loses exactly that group; what it committed stays.
TEST_F(IndexStore, SigkillLosesOnlyTheUncommittedGroup) {
  const std::string db = path("a.zsdb");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = Store::open(db, Store::Mode::kUpdate);
    store.check_or_set_identity(kModel);
    const float x[] = {1, 0, 0};
    store.begin();
    store.put({"/committed.jpg", 1, 1, "c", std::nullopt}, x);
    store.commit();
    store.begin();
    store.put({"/uncommitted.jpg", 1, 1, "u", std::nullopt}, x);
    kill(getpid(), SIGKILL);
    _exit(3);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto store = Store::open(db, Store::Mode::kUpdate);  // the dead writer's lock is gone
  EXPECT_TRUE(store.file("/committed.jpg").has_value());
  EXPECT_FALSE(store.file("/uncommitted.jpg").has_value());
  EXPECT_EQ(store.file_count(), 1u);
}

}  // namespace
}  // namespace zeroshot::index
