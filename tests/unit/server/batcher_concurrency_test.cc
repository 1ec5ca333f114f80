// server/batcher: images of several submitters share passes of at most max_batch, get their own
// embeddings (the library's, computed alone), abandoned ones are dropped before their pass, and
// a full queue refuses at once. Named *Concurrency* so the TSan stage runs it.
#include "batcher.h"

#include <gtest/gtest.h>

#include <thread>

#include "http_error.h"

namespace zeroshot::server {
namespace {

const std::string kModel = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";

Image image(int seed) {
  std::vector<std::uint8_t> rgb(48 * 40 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * seed % 251);
  return Image::from_rgb(48, 40, rgb);
}

TEST(BatcherConcurrency, SubmittersShareBatchesAndGetTheirOwnEmbeddings) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  Batcher batcher(model, {.max_batch = 4, .max_delay = std::chrono::milliseconds(200)}, metrics);
  std::vector<std::future<Embedded>> results(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          std::move(batcher.submit({image(i + 1)}, nullptr).front());
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::uint64_t, int> per_batch;
  for (int i = 0; i < 6; ++i) {
    const Embedded e = results[static_cast<std::size_t>(i)].get();
    ++per_batch[e.batch];
    const auto alone = model.embed_image(image(i + 1));
    ASSERT_EQ(e.embedding.size(), alone.size());
    for (std::size_t k = 0; k < alone.size(); ++k) EXPECT_NEAR(e.embedding[k], alone[k], 1e-5);
  }
  // Six images with up to 4 a pass and 200 ms to gather: two passes, none above 4.
  EXPECT_EQ(per_batch.size(), 2u);
  for (const auto& [batch, count] : per_batch) EXPECT_LE(count, 4);
}

TEST(BatcherConcurrency, AbandonedImagesAreDroppedAndAFullQueueRefuses) {
  const Model model = Model::load({.repo = kModel});
  Metrics metrics;
  Batcher batcher(model,
                  {.max_batch = 8, .max_delay = std::chrono::milliseconds(100), .max_queue = 3},
                  metrics);
  auto dropped = batcher.submit({image(1), image(2)}, [] { return true; });
  EXPECT_THROW(batcher.submit({image(3), image(4)}, nullptr), HttpError);  // 2 + 2 > 3
  auto kept = batcher.submit({image(5)}, [] { return false; });
  for (auto& f : dropped) {
    try {
      f.get();
      ADD_FAILURE() << "an abandoned image was embedded";
    } catch (const HttpError& e) {
      EXPECT_EQ(e.code(), "abandoned");
    }
  }
  EXPECT_EQ(kept.front().get().embedding.size(), static_cast<std::size_t>(model.embedding_dim()));
  EXPECT_NE(metrics.prometheus({}, true).find("zeroshot_batch_size_count 1"), std::string::npos);
}

}  // namespace
}  // namespace zeroshot::server
