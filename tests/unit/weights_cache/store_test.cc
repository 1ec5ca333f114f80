// weights_cache::open_store_in / list / clear on a scratch folder, without a model: slots are
// filled with known bytes as packing would fill them, then read back by a second store as a
// later process would. Damaged, truncated and foreign files, changed sources, unwritable folders
// and concurrent writers must never give wrong bytes or throw.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "util/env.h"
#include "weights_cache/directory.h"
#include "weights_cache/store.h"

namespace zeroshot::weights_cache {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("zs_weights_cache_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    folder_ = (root_ / "cache").string();
    source_ = (root_ / "model.safetensors").string();
    write_source("weights v1");
  }
  void TearDown() override {
    set_write_mode(WriteMode::kAsPacked);
    fs::remove_all(root_);
  }

  void write_source(const std::string& text) { std::ofstream(source_) << text; }

  // A store with two slots of these sizes and layouts, as a tower's load registers them.
  std::shared_ptr<kernels::PackedStore> store(const std::string& layout0 = "layout A") {
    auto s = open_store_in(folder_, source_, "text", "f32");
    EXPECT_NE(s, nullptr);
    EXPECT_EQ(s->add(kBytes0, layout0), 0u);
    EXPECT_EQ(s->add(kBytes1, "layout B"), 1u);
    return s;
  }

  // Packs both slots with bytes derived from `seed` and hands them over, as a first use would.
  static void fill(kernels::PackedStore& s, int seed) {
    for (std::size_t slot = 0; slot < 2; ++slot) s.keep(slot, packed(slot, seed));
  }

  // One slot's packed bytes, owned as a model's packed weights are (the store may hold them).
  static std::shared_ptr<const void> packed(std::size_t slot, int seed) {
    auto bytes = std::make_shared<std::vector<unsigned char>>(slot ? kBytes1 : kBytes0);
    for (std::size_t i = 0; i < bytes->size(); ++i)
      (*bytes)[i] = static_cast<unsigned char>(i * 7 + slot + static_cast<std::size_t>(seed));
    return {bytes, bytes->data()};
  }

  static bool holds(const void* p, std::size_t slot, int seed) {
    if (p == nullptr) return false;
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < (slot ? kBytes1 : kBytes0); ++i)
      if (b[i] != static_cast<unsigned char>(i * 7 + slot + static_cast<std::size_t>(seed)))
        return false;
    return true;
  }

  std::vector<fs::path> files() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(folder_, ec)) out.push_back(e.path());
    return out;
  }

  static constexpr std::size_t kBytes0 = 10000;  // not a multiple of the 4096 alignment
  static constexpr std::size_t kBytes1 = 64;
  fs::path root_;
  std::string folder_, source_;
};

TEST_F(StoreTest, WrittenOnceThenMappedByTheNextStore) {
  {
    auto first = store();
    EXPECT_EQ(first->stored(0), nullptr);  // nothing cached yet
    fill(*first, 1);
    ASSERT_EQ(files().size(), 1u);  // renamed into place once both slots were filled
    EXPECT_EQ(files()[0].extension(), ".zsw");
  }
  ASSERT_EQ(files().size(), 1u);  // kept after the writer is gone
  auto second = store();
  EXPECT_TRUE(holds(second->stored(0), 0, 1));
  EXPECT_TRUE(holds(second->stored(1), 1, 1));
  second->keep(0, packed(0, 99));  // read, never rewritten
  EXPECT_TRUE(holds(store()->stored(0), 0, 1));

  const auto entries = list(folder_);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].tower, "text");
  EXPECT_EQ(entries[0].precision, "f32");
  EXPECT_EQ(entries[0].source, fs::path(source_).lexically_normal().string());
  EXPECT_FALSE(entries[0].stale);
  EXPECT_FALSE(entries[0].temporary);
  EXPECT_NE(entries[0].signature.find("oneDNN"), std::string::npos);
}

TEST_F(StoreTest, AnUnfinishedFileIsRemovedWithItsStore) {
  {
    auto s = store();
    s->keep(0, packed(0, 1));  // slot 1 never packed (its tower half used)
    ASSERT_EQ(files().size(), 1u);
    EXPECT_TRUE(list(folder_)[0].temporary);
    EXPECT_FALSE(list(folder_)[0].stale);  // its writer (this process) is alive
  }
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(store()->stored(0), nullptr);
}

TEST_F(StoreTest, ADamagedSlotIsRefusedAndTheFileRemoved) {
  fill(*store(), 2);
  ASSERT_EQ(files().size(), 1u);
  const fs::path file = files()[0];
  const auto size = fs::file_size(file);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 4096));  // inside the last slot
    f.put('\x55');
  }
  auto s = store();
  EXPECT_TRUE(holds(s->stored(0), 0, 2));  // the intact slot is still used
  EXPECT_EQ(s->stored(1), nullptr);        // the damaged one is packed in memory instead
  s->keep(1, packed(1, 2));                // and not written back by this store
  EXPECT_TRUE(files().empty());            // the next run writes the file anew
  fill(*store(), 3);
  EXPECT_TRUE(holds(store()->stored(1), 1, 3));
}

TEST_F(StoreTest, TruncatedForeignOrEmptyFilesAreNeverUsed) {
  fill(*store(), 4);
  const fs::path file = files()[0];
  for (const std::string& content :
       {std::string(), std::string("not a cache file"), std::string(5000, '\0')}) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    auto s = store();
    EXPECT_EQ(s->stored(0), nullptr) << content.size();
    fill(*s, 5);  // rewrites it whole under the same name
    EXPECT_TRUE(holds(store()->stored(0), 0, 5));
  }
  // Cut short: the header no longer matches the file's size.
  fs::resize_file(file, fs::file_size(file) - 4096);
  EXPECT_EQ(store()->stored(0), nullptr);
  EXPECT_TRUE(list(folder_)[0].stale);
}

TEST_F(StoreTest, AnotherLayoutIsAMiss) {
  fill(*store(), 6);
  auto s = store("layout A from another oneDNN");
  EXPECT_EQ(s->stored(0), nullptr);
  fill(*s, 7);  // replaces the file of the other layout
  EXPECT_EQ(store()->stored(0), nullptr);
  EXPECT_TRUE(holds(store("layout A from another oneDNN")->stored(0), 0, 7));
}

TEST_F(StoreTest, AChangedSourceGetsANewFileAndTheOldOneIsStale) {
  fill(*store(), 7);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_source("weights v2, rewritten");
  auto s = store();
  EXPECT_EQ(s->stored(0), nullptr);
  fill(*s, 8);
  const auto entries = list(folder_);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_NE(entries[0].stale, entries[1].stale);  // the old key's file only
  const std::uint64_t stale_bytes = entries[0].stale ? entries[0].bytes : entries[1].bytes;
  EXPECT_EQ(clear(folder_, /*stale_only=*/true), stale_bytes);
  ASSERT_EQ(list(folder_).size(), 1u);
  EXPECT_TRUE(holds(store()->stored(0), 0, 8));
  EXPECT_GT(clear(folder_, /*stale_only=*/false), 0u);
  EXPECT_TRUE(list(folder_).empty());
}

TEST_F(StoreTest, HubBlobsAreKeyedByTheirContentHash) {
  const fs::path blobs = root_ / "models--org--name" / "blobs";
  fs::create_directories(blobs);
  const std::string hash(64, 'a');
  std::ofstream(blobs / hash) << "weights";
  const auto identity = source_identity((blobs / hash).string());
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(*identity, "hub-blob " + hash + " 7");
  EXPECT_NE(*source_identity(source_), *identity);
  EXPECT_FALSE(source_identity((root_ / "missing").string()).has_value());
  EXPECT_EQ(open_store_in(folder_, (root_ / "missing").string(), "text", "f32"), nullptr);
}

TEST_F(StoreTest, AnUnwritableFolderPacksInMemory) {
  std::ofstream((root_ / "a file").string()) << "x";
  auto s = open_store_in((root_ / "a file" / "cache").string(), source_, "text", "f32");
  ASSERT_NE(s, nullptr);
  s->add(kBytes0, "layout A");
  EXPECT_EQ(s->stored(0), nullptr);
  s->keep(0, packed(0, 1));  // no error: the weights stay in memory
  EXPECT_EQ(s->stored(0), nullptr);
}

TEST_F(StoreTest, DeferredTowersAreWrittenWhenAskedEvenAfterTheirStoreIsGone) {
  set_write_mode(WriteMode::kDeferred);
  fill(*store(), 10);  // the store is released here: what it was handed is kept for the write
  {
    auto half = open_store_in(folder_, source_, "vision", "f32");
    half->add(kBytes0, "layout A");
    half->add(kBytes1, "layout B");
    half->keep(0, packed(0, 1));  // slot 1 never packed: never written
  }
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(write_deferred(), 1u);
  set_write_mode(WriteMode::kAsPacked);
  ASSERT_EQ(files().size(), 1u);
  auto s = store();
  EXPECT_TRUE(holds(s->stored(0), 0, 10));
  EXPECT_TRUE(holds(s->stored(1), 1, 10));
  EXPECT_EQ(write_deferred(), 0u);  // each written once
}

TEST_F(StoreTest, ABackgroundChildWritesDeferredTowersUnderTheFolderLock) {
  set_write_mode(WriteMode::kDeferred);
  fill(*store(), 11);
  ASSERT_TRUE(write_deferred_in_background());
  int status = -1;
  ASSERT_GT(::waitpid(-1, &status, 0), 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  set_write_mode(WriteMode::kAsPacked);
  ASSERT_EQ(files().size(), 1u);
  EXPECT_TRUE(holds(store()->stored(1), 1, 11));

  // Another writer holds the folder: no child, the tower stays deferred for a later call.
  fs::remove_all(folder_);
  set_write_mode(WriteMode::kDeferred);
  fill(*store(), 12);
  fs::create_directories(folder_);
  const int other = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(::flock(other, LOCK_EX), 0);
  EXPECT_FALSE(write_deferred_in_background());
  ::close(other);
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(write_deferred(), 1u);
  EXPECT_TRUE(holds(store()->stored(0), 0, 12));
}

// Named for the TSan stage (scripts/sanitize.sh runs the *Concurrency* tests).
class StoreConcurrency : public StoreTest {};

TEST_F(StoreConcurrency, WritersLeaveOneCompleteFile) {
  std::vector<std::thread> writers;
  // Each packs and publishes, or finds the file another one published and maps it.
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([this] {
      auto s = store();
      if (s->stored(0) == nullptr) fill(*s, 9);
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(files().size(), 1u);
  auto s = store();
  EXPECT_TRUE(holds(s->stored(0), 0, 9));
  EXPECT_TRUE(holds(s->stored(1), 1, 9));
}

TEST(PreparedCacheDir, FollowsTheEnvironment) {
  ::setenv("ZEROSHOT_PREPARED_CACHE", "/some/where", 1);
  EXPECT_EQ(util::prepared_cache_dir(), "/some/where");
  for (const char* off : {"off", "0", "false", "No"}) {
    ::setenv("ZEROSHOT_PREPARED_CACHE", off, 1);
    EXPECT_FALSE(util::prepared_cache_dir().has_value()) << off;
  }
  ::unsetenv("ZEROSHOT_PREPARED_CACHE");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(util::prepared_cache_dir(), "/xdg/zeroshot/prepared");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(util::prepared_cache_dir(), "/home/u/.cache/zeroshot/prepared");
}

}  // namespace
}  // namespace zeroshot::weights_cache
