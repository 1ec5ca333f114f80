// server/batcher: images of several submitters share passes of at most max_batch, get their own
// embeddings (the library's, computed alone) in their request's order, a lone image waits for
// company no longer than max_delay, abandoned ones are dropped before their pass, and a full queue
// refuses at once. Named *Concurrency* so the TSan stage runs it.
//
// Nothing here depends on how fast the machine is: where a test needs images to arrive "together"
// the delay is 10 minutes, so a pass starts only when the batch is full or on flush(), and the
// passes are counted, not timed. The one timed check is a lower bound (a lone image waited its
// delay), which a busy machine can only make longer.
#include "batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "http_error.h"

namespace zeroshot::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
// Longer than any test: a batch that is not full runs only on flush().
constexpr milliseconds kForever = std::chrono::minutes(10);
// Bounds a wait that must end long before kForever (generous: never reached on a busy machine).
constexpr auto kPatience = std::chrono::seconds(60);

Image image(int seed) {
  std::vector<std::uint8_t> rgb(48 * 40 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * seed % 251);
  return Image::from_rgb(48, 40, rgb);
}

void expect_embedding_of(const Model& model, const Embedded& e, int seed) {
  const auto alone = model.embed_image(image(seed));
  ASSERT_EQ(e.embedding.size(), alone.size()) << "image " << seed;
  for (std::size_t k = 0; k < alone.size(); ++k)
    EXPECT_NEAR(e.embedding[k], alone[k], 1e-5) << "image " << seed;
}

TEST(BatcherConcurrency, SubmittersShareBatchesAndGetTheirOwnEmbeddings) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  Batcher batcher(model, {.max_batch = 4, .max_delay = kForever}, metrics);
  std::vector<std::future<Embedded>> results(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          std::move(batcher.submit({image(i + 1)}, nullptr).front());
    });
  }
  for (auto& t : threads) t.join();
  // The first four ran as soon as they were four (a full batch waits for nobody); the last two
  // wait for company until the server drains.
  batcher.flush();
  std::map<std::uint64_t, int> per_batch;
  for (int i = 0; i < 6; ++i) {
    auto& future = results[static_cast<std::size_t>(i)];
    ASSERT_EQ(future.wait_for(kPatience), std::future_status::ready) << "image " << i + 1;
    const Embedded e = future.get();
    ++per_batch[e.batch];
    expect_embedding_of(model, e, i + 1);
  }
  // Six images with up to 4 a pass: two passes, none above 4: one of 4, one of 2.
  ASSERT_EQ(per_batch.size(), 2u);
  for (const auto& [batch, count] : per_batch) EXPECT_LE(count, 4);
  std::vector<int> sizes;
  for (const auto& [batch, count] : per_batch) sizes.push_back(count);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<int>{2, 4}));
}

TEST(BatcherConcurrency, AFullBatchRunsAtOnceWithEachRequestsImagesInOrder) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  Batcher batcher(model, {.max_batch = 3, .max_delay = kForever}, metrics);
  auto first = batcher.submit({image(7)}, nullptr);
  auto second = batcher.submit({image(8), image(9)}, nullptr);  // fills the batch: no flush
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 2u);
  for (auto* f : {&first[0], &second[0], &second[1]})
    ASSERT_EQ(f->wait_for(kPatience), std::future_status::ready);
  const Embedded a = first[0].get(), b = second[0].get(), c = second[1].get();
  EXPECT_EQ(a.batch, 1u);  // one pass for the three
  EXPECT_EQ(b.batch, 1u);
  EXPECT_EQ(c.batch, 1u);
  expect_embedding_of(model, a, 7);
  expect_embedding_of(model, b, 8);  // a request's futures follow its images
  expect_embedding_of(model, c, 9);
  EXPECT_NE(metrics.prometheus({}, true).find("zeroshot_batch_size_count 1"), std::string::npos);
}

TEST(BatcherConcurrency, ALoneImageWaitsForCompanyOnlyItsDelay) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  {
    // A 100 ms delay: the image waits that long (never less) for others, then runs alone.
    const milliseconds delay(100);
    Batcher batcher(model, {.max_batch = 8, .max_delay = delay}, metrics);
    const auto start = steady_clock::now();
    auto lone = batcher.submit({image(3)}, nullptr);
    ASSERT_EQ(lone.front().wait_for(kPatience), std::future_status::ready)
        << "a lone image was held past its delay";
    EXPECT_GE(steady_clock::now() - start, delay);
    const Embedded e = lone.front().get();
    EXPECT_EQ(e.batch, 1u);
    expect_embedding_of(model, e, 3);
  }
  {
    // The delay is what holds it: with a 10-minute one it still waits, until the server drains.
    Batcher batcher(model, {.max_batch = 8, .max_delay = kForever}, metrics);
    auto lone = batcher.submit({image(4)}, nullptr);
    EXPECT_EQ(lone.front().wait_for(milliseconds(300)), std::future_status::timeout);
    batcher.flush();
    ASSERT_EQ(lone.front().wait_for(kPatience), std::future_status::ready);
    expect_embedding_of(model, lone.front().get(), 4);
  }
}

TEST(BatcherConcurrency, AbandonedImagesAreDroppedAndAFullQueueRefuses) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  // Nothing runs before flush(): the queue's contents below do not depend on timing.
  Batcher batcher(model, {.max_batch = 8, .max_delay = kForever, .max_queue = 3}, metrics);
  auto dropped = batcher.submit({image(1), image(2)}, [] { return true; });
  try {
    batcher.submit({image(3), image(4)}, nullptr);  // 2 + 2 > 3
    ADD_FAILURE() << "a full queue took more images";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 429);
    EXPECT_EQ(e.code(), "queue_full");
    EXPECT_EQ(e.retry_after_s(), 1);
  }
  auto kept = batcher.submit({image(5)}, [] { return false; });
  EXPECT_EQ(batcher.depth(), 3u);
  batcher.flush();
  for (auto& f : dropped) {
    try {
      f.get();
      ADD_FAILURE() << "an abandoned image was embedded";
    } catch (const HttpError& e) {
      EXPECT_EQ(e.code(), "abandoned");
      EXPECT_EQ(e.status(), 499);
    }
  }
  const Embedded e = kept.front().get();
  EXPECT_EQ(e.embedding.size(), static_cast<std::size_t>(model.embedding_dim()));
  expect_embedding_of(model, e, 5);
  EXPECT_NE(metrics.prometheus({}, true).find("zeroshot_batch_size_count 1"), std::string::npos);
  EXPECT_NE(metrics.prometheus({}, true).find("zeroshot_rejected_total{reason=\"abandoned\"} 2"),
            std::string::npos)
      << metrics.prometheus({}, true);
}

}  // namespace
}  // namespace zeroshot::server
