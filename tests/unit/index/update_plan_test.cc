#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "index/update_plan.h"

namespace zeroshot::index {
namespace {

namespace fs = std::filesystem;

TEST(IndexUpdatePlan, NewChangedUnchangedAndGone) {
  const fs::path dir = fs::temp_directory_path() / ("zeroshot_plan_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = Store::open((dir / "i.zsdb").string(), Store::Mode::kUpdate);
    store.check_or_set_identity({"m", "main", "clip", 2});
    const float v[] = {1, 0};
    for (const char* p : {"/photos/same.jpg", "/photos/edited.jpg", "/photos/touched.jpg",
                          "/photos/deleted.jpg", "/photos/sub/deleted.jpg", "/elsewhere/kept.jpg"})
      store.put({p, 100, 1000, std::string("hash of ") + p, std::nullopt}, v);
    store.put({"/photos/failed.jpg", 7, 70, "hf", "image_decode: truncated"}, {});

    const ScannedFile scan[] = {
        {"/photos/same.jpg", 100, 1000},    {"/photos/edited.jpg", 101, 1000},
        {"/photos/touched.jpg", 100, 1001}, {"/photos/failed.jpg", 7, 70},
        {"/photos/new.jpg", 5, 5},          {"/photos/same.jpg", 100, 1000},  // named twice
        {"/single/other.jpg", 1, 1}};
    const std::string folders[] = {"/photos"};
    const auto plan = plan_update(store, scan, folders);
    ASSERT_EQ(plan.added.size(), 2u);
    EXPECT_EQ(plan.added[0].path, "/photos/new.jpg");
    EXPECT_EQ(plan.added[1].path, "/single/other.jpg");
    ASSERT_EQ(plan.changed.size(), 2u);
    EXPECT_EQ(plan.changed[0].path, "/photos/edited.jpg");
    EXPECT_EQ(plan.changed[1].path, "/photos/touched.jpg");
    EXPECT_EQ(plan.unchanged, 2u);  // same.jpg once, failed.jpg (not retried unchanged)
    EXPECT_EQ(plan.removed,
              (std::vector<std::string>{"/photos/deleted.jpg", "/photos/sub/deleted.jpg"}));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace zeroshot::index
