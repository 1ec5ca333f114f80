// One zs_model (and one label set) used by many threads at once through the C API: every thread
// gets the single-threaded results, and nothing races (the TSan stage of scripts/sanitize.sh runs
// this binary: its suite is named *Concurrency*).
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "zeroshot/zeroshot_c.h"

namespace {

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";

TEST(CApiConcurrency, OneModelManyThreads) {
  zs_model_params params = zs_model_params_defaults();
  params.repo = kModel.c_str();
  params.threads = 1;
  zs_model* model = nullptr;
  ASSERT_EQ(zs_model_open(&params, &model, nullptr), ZS_OK);
  const char* names[] = {"scene_640x480.png", "small_100x80.png", "odd_225x301.png"};
  std::vector<zs_image*> images;
  for (const char* name : names) {
    zs_image* image = nullptr;
    ASSERT_EQ(zs_image_from_file((kImages + name).c_str(), &image, nullptr), ZS_OK);
    images.push_back(image);
  }
  const char* labels[] = {"a dog", "a cat", "a horse"};
  zs_label_set* set = nullptr;
  ASSERT_EQ(zs_label_set_prepare(model, labels, 3, nullptr, &set, nullptr), ZS_OK);

  // The single-threaded results first.
  std::vector<std::vector<zs_score>> want(images.size(), std::vector<zs_score>(3));
  for (std::size_t i = 0; i < images.size(); ++i) {
    std::size_t n = 0;
    ASSERT_EQ(zs_classify(model, images[i], labels, 3, nullptr, want[i].data(), &n, nullptr),
              ZS_OK);
  }

  constexpr int kThreads = 6;
  constexpr int kRounds = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::size_t i = static_cast<std::size_t>(t + round) % images.size();
        zs_score got[3];
        std::size_t n = 0;
        zs_error* error = nullptr;
        // Half the calls prepare the labels again (the text cache), half use the set.
        const zs_status status =
            (t % 2 == 0) ? zs_classify(model, images[i], labels, 3, nullptr, got, &n, &error)
                         : zs_classify_label_set(model, images[i], set, 0, got, &n, &error);
        if (status != ZS_OK || n != 3) {
          ++mismatches[t];
          zs_error_free(error);
          continue;
        }
        for (std::size_t k = 0; k < 3; ++k) {
          if (got[k].label_index != want[i][k].label_index || got[k].score != want[i][k].score)
            ++mismatches[t];
        }
        // An error on one thread stays that thread's own.
        zs_image* bad = nullptr;
        if (zs_image_from_buffer("xx", 2, &bad, &error) != ZS_ERR_IMAGE_DECODE ||
            zs_error_code(error) != ZS_ERR_IMAGE_DECODE)
          ++mismatches[t];
        zs_error_free(error);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;

  zs_label_set_free(set);
  for (zs_image* image : images) zs_image_free(image);
  zs_model_free(model);
}

TEST(CApiConcurrency, SharedModelLoadsOnceUnderRaces) {
  zs_model_params params = zs_model_params_defaults();
  params.repo = kModel.c_str();
  constexpr int kThreads = 4;
  std::vector<zs_model*> models(kThreads, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { zs_model_open_shared(&params, &models[t], nullptr); });
  for (auto& thread : threads) thread.join();
  const char* text[] = {"a racing label"};
  float e[64];
  std::uint64_t hits = 0, misses = 0;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_NE(models[t], nullptr);
    ASSERT_EQ(zs_embed_texts(models[t], text, 1, e, nullptr), ZS_OK);
  }
  // One model behind every handle: one miss, then hits.
  zs_model_text_cache_stats(models[0], &hits, &misses);
  EXPECT_EQ(hits, static_cast<std::uint64_t>(kThreads - 1));
  EXPECT_EQ(misses, 1u);
  for (zs_model* m : models) zs_model_free(m);
}

}  // namespace
