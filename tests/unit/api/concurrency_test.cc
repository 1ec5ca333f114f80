// Thread safety of the public API (docs/ERRORS.md, "Thread safety"): one Model used from 8 threads
// at once gives results identical to serial calls; concurrent first use of the process-wide model
// cache loads the model once. scripts/sanitize.sh runs these under TSan (suites *Concurrency*).
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include "zeroshot/error.h"
#include "zeroshot/model.h"

namespace zeroshot {
namespace {

const std::string kFixtures = ZEROSHOT_FIXTURES;
const std::string kTiny = kFixtures + "/models/tiny-clip";
constexpr int kThreads = 8;

struct Results {
  std::vector<std::vector<LabelScore>> classify;
  std::vector<std::vector<float>> image_embeddings;
  std::vector<std::vector<float>> text_embeddings;
  float similarity = 0;
};

const std::vector<std::string> kImages = {"small_100x80.png", "scene_640x480_q92.jpg",
                                          "palette_P_tRNS_200x160.png", "tall_20x1000.png"};
const std::vector<std::string> kLabels = {"a dog", "a cat", "a sports car", "a diagram"};

Results compute(const Model& model, const std::vector<Image>& images) {
  Results r;
  for (const auto& image : images) {
    r.classify.push_back(model.classify(image, kLabels));
    r.image_embeddings.push_back(model.embed_image(image));
  }
  for (const auto& label : kLabels) r.text_embeddings.push_back(model.embed_text(label));
  r.similarity = model.similarity(images[0], images[1]);
  return r;
}

void expect_identical(const Results& a, const Results& b) {
  ASSERT_EQ(a.classify.size(), b.classify.size());
  for (std::size_t i = 0; i < a.classify.size(); ++i) {
    ASSERT_EQ(a.classify[i].size(), b.classify[i].size());
    for (std::size_t j = 0; j < a.classify[i].size(); ++j) {
      EXPECT_EQ(a.classify[i][j].label, b.classify[i][j].label);
      EXPECT_EQ(a.classify[i][j].score, b.classify[i][j].score);
    }
  }
  EXPECT_EQ(a.image_embeddings, b.image_embeddings);
  EXPECT_EQ(a.text_embeddings, b.text_embeddings);
  EXPECT_EQ(a.similarity, b.similarity);
}

TEST(ApiConcurrency, EightThreadsOnOneModelMatchSerialCalls) {
  const Model model = Model::load({.repo = kTiny});
  std::vector<Image> images;
  for (const auto& name : kImages)
    images.push_back(Image::from_file(kFixtures + "/images/" + name));
  const Results serial = compute(model, images);

  std::vector<Results> results(kThreads);
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();  // all threads call into the model at the same moment
      // Half use the shared Model, half a copy (copies share the weights).
      const Model copy = model;
      results[t] = compute(t % 2 == 0 ? model : copy, images);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    expect_identical(serial, results[t]);
  }
}

TEST(ApiConcurrency, ImagesDecodeConcurrently) {
  // Decoding (libvips) from 8 threads, including failures: each gets its own image or its own
  // error, never another thread's.
  std::vector<std::string> names = kImages;
  std::vector<std::vector<std::uint8_t>> serial;
  for (const auto& name : names) {
    const Image image = Image::from_file(kFixtures + "/images/" + name);
    serial.emplace_back(image.rgb().begin(), image.rgb().end());
  }
  std::atomic<int> mismatches{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int round = 0; round < 4; ++round) {
        const std::size_t i = static_cast<std::size_t>(t + round) % names.size();
        const Image image = Image::from_file(kFixtures + "/images/" + names[i]);
        if (!std::equal(image.rgb().begin(), image.rgb().end(), serial[i].begin(), serial[i].end()))
          ++mismatches;
        const std::string missing = "/nonexistent/zs_" + std::to_string(t) + ".png";
        try {
          Image::from_file(missing);
          ++mismatches;
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kImageRead ||
              std::string(e.what()).find(missing) == std::string::npos)
            ++mismatches;
        }
        const std::vector<std::byte> junk(64 + t, std::byte{static_cast<unsigned char>(t)});
        try {
          Image::from_buffer(junk);
          ++mismatches;
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kImageDecode) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ApiConcurrency, CachedModelLoadsOnceUnderConcurrentFirstUse) {
  // 8 threads ask for the same model at the same moment: one load, one shared Model. Observable:
  // every returned Model is the same instance (folder() refers to the same string object).
  std::vector<const std::string*> folders(kThreads, nullptr);
  std::vector<Model> models;
  models.reserve(kThreads);
  std::mutex models_mutex;
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  const Options options{.repo = kTiny};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      Model m = cached_model(options);
      folders[t] = &m.folder();
      std::lock_guard lock(models_mutex);
      models.push_back(std::move(m));  // keeps every instance alive for the comparison
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(folders[t], folders[0]) << "thread " << t;
  // Later calls and the convenience functions use the same instance.
  EXPECT_EQ(&cached_model(options).folder(), folders[0]);
  // Another key is another model.
  const Options other{.repo = kTiny + "/"};
  EXPECT_NE(&cached_model(other).folder(), folders[0]);
}

TEST(ApiConcurrency, FailedLoadsAreReportedToEveryWaiterAndNotCached) {
  const std::string missing = "/nonexistent/zs_model_" + std::to_string(::getpid());
  std::atomic<int> right_errors{0};
  std::barrier start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        cached_model({.repo = missing});
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kModelNotFound &&
            std::string(e.what()).find(missing) != std::string::npos)
          ++right_errors;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(right_errors.load(), kThreads);
  EXPECT_THROW(cached_model({.repo = missing}), Error);  // retried, fails again
}

}  // namespace
}  // namespace zeroshot
