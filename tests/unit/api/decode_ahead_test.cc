// DecodeAhead (include/zeroshot/decode_ahead.h): streams hand images out in input order with
// their errors in place, never more than `ahead` beyond the one taken; submit() takes all or
// none under max_waiting; destruction with work queued drops it and returns. Concurrency code:
// run under TSan by scripts/sanitize.sh (its target and suite names say "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "zeroshot/zeroshot.h"

namespace zeroshot {
namespace {

const std::string kImages = std::string(ZEROSHOT_FIXTURES) + "/images/";
const std::vector<std::string> kFiles = {"exact_224x224.png", "scene_640x480_q92.jpg",
                                         "cmyk_200x150.jpg", "exif_orientation6_320x240.jpg"};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A gate the decode threads wait at (from on_decoded) until it opens.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void wait_for_waiters(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(DecodeAheadConcurrency, StreamsInInputOrderWithErrorsInPlace) {
  std::vector<ImageSource> sources;
  std::vector<std::string> expected;  // "" = an error
  for (int round = 0; round < 6; ++round) {
    for (const auto& f : kFiles) {
      sources.push_back(round % 2 ? ImageSource::file(kImages + f)
                                  : ImageSource::bytes(read_bytes(kImages + f)));
      expected.push_back(f);
    }
    sources.push_back(ImageSource::file(kImages + "no_such_file.png"));
    expected.push_back("");
    sources.push_back(ImageSource::bytes("not an image"));
    expected.push_back("");
  }
  DecodeAhead decoder({.threads = 3});
  auto stream = decoder.stream(sources, 4);
  EXPECT_EQ(stream.size(), sources.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto next = stream.next();
    ASSERT_TRUE(next.has_value()) << i;
    EXPECT_EQ(next->index, i);
    if (expected[i].empty()) {
      ASSERT_TRUE(next->error.has_value()) << i;
      EXPECT_FALSE(next->image.has_value());
      EXPECT_EQ(next->error->code(), sources[i].kind == ImageSource::Kind::kFile
                                         ? ErrorCode::kImageRead
                                         : ErrorCode::kImageDecode);
      continue;
    }
    ASSERT_TRUE(next->image.has_value()) << i << " " << next->error->what();
    const Image reference = Image::from_file(kImages + expected[i]);
    EXPECT_EQ(next->image->width(), reference.width()) << expected[i];
    EXPECT_EQ(next->image->height(), reference.height()) << expected[i];
    EXPECT_TRUE(std::equal(next->image->rgb().begin(), next->image->rgb().end(),
                           reference.rgb().begin(), reference.rgb().end()))
        << expected[i];
  }
  EXPECT_FALSE(stream.next().has_value());
  EXPECT_TRUE(stream.ready());
}

TEST(DecodeAheadConcurrency, DecodeOptionsApply) {
  DecodeAhead decoder({.decode = {.max_pixels = 1000}});
  auto stream = decoder.stream({ImageSource::file(kImages + "exact_224x224.png")}, 1);
  const auto next = stream.next();
  ASSERT_TRUE(next->error.has_value());
  EXPECT_EQ(next->error->code(), ErrorCode::kImageTooLarge);
}

TEST(DecodeAheadConcurrency, AStreamDecodesAtMostAheadBeyondWhatWasTaken) {
  std::atomic<int> decoded = 0;
  DecodeAhead decoder({.threads = 4, .on_decoded = [&](double) { ++decoded; }});
  const std::string bytes = read_bytes(kImages + "exact_224x224.png");
  std::vector<ImageSource> sources(100, ImageSource::bytes(bytes));
  constexpr std::size_t kAhead = 3;
  auto stream = decoder.stream(std::move(sources), kAhead);
  for (int taken = 0; taken <= 5; ++taken) {
    // Give the threads time to run ahead as far as they may.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (decoded < taken + static_cast<int>(kAhead) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(decoded.load(), taken + static_cast<int>(kAhead)) << "after taking " << taken;
    EXPECT_TRUE(stream.ready());
    ASSERT_TRUE(stream.next()->image.has_value());
  }
}

TEST(DecodeAheadConcurrency, SubmitTakesAllOrNoneUnderMaxWaiting) {
  Gate gate;
  DecodeAhead decoder({.threads = 1, .max_waiting = 4, .on_decoded = [&](double) { gate.wait(); }});
  const std::string bytes = read_bytes(kImages + "exact_224x224.png");
  auto first = decoder.submit({ImageSource::bytes(bytes)});
  ASSERT_TRUE(first.has_value());
  gate.wait_for_waiters(1);  // the one thread is busy: what follows waits
  EXPECT_EQ(decoder.waiting(), 0u);
  auto three = decoder.submit(std::vector<ImageSource>(3, ImageSource::bytes(bytes)));
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(decoder.waiting(), 3u);
  EXPECT_FALSE(decoder.submit(std::vector<ImageSource>(2, ImageSource::bytes(bytes))));
  EXPECT_EQ(decoder.waiting(), 3u);  // none of the two was queued
  auto one = decoder.submit({ImageSource::bytes("not an image")});
  ASSERT_TRUE(one.has_value());
  gate.open();
  EXPECT_EQ((*first)[0].get().width(), 224);
  for (auto& f : *three) EXPECT_EQ(f.get().height(), 224);
  try {
    (*one)[0].get();
    ADD_FAILURE() << "expected an image_decode error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kImageDecode);
  }
}

TEST(DecodeAheadConcurrency, ConcurrentSubmittersEachGetTheirOwnImages) {
  DecodeAhead decoder({.threads = 2});
  std::vector<std::thread> threads;
  std::atomic<int> wrong = 0;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string& f = kFiles[static_cast<std::size_t>(t)];
      const Image reference = Image::from_file(kImages + f);
      for (int round = 0; round < 3; ++round) {
        auto futures = decoder.submit(std::vector<ImageSource>(4, ImageSource::file(kImages + f)));
        for (auto& future : *futures) {
          const Image image = future.get();
          if (image.width() != reference.width() || image.height() != reference.height()) ++wrong;
        }
        auto stream =
            decoder.stream(std::vector<ImageSource>(3, ImageSource::file(kImages + f)), 2);
        while (auto next = stream.next())
          if (!next->image || next->image->width() != reference.width()) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(DecodeAheadConcurrency, DestructionDropsWhatWaitsAndReturns) {
  Gate gate;
  std::atomic<int> decoded = 0;
  std::vector<std::future<Image>> futures;
  std::thread opener;
  {
    DecodeAhead decoder({.threads = 1, .on_decoded = [&](double) {
                           ++decoded;
                           gate.wait();
                         }});
    const std::string bytes = read_bytes(kImages + "exact_224x224.png");
    futures = std::move(*decoder.submit(std::vector<ImageSource>(50, ImageSource::bytes(bytes))));
    gate.wait_for_waiters(1);
    opener = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      gate.open();
    });
  }  // waits for the one decode running, drops the 49 waiting
  opener.join();
  EXPECT_EQ(decoded.load(), 1);
  EXPECT_EQ(futures[0].get().width(), 224);
  try {
    futures[1].get();
    ADD_FAILURE() << "a dropped image has no result";
  } catch (const std::future_error& e) {
    EXPECT_EQ(e.code(), std::future_errc::broken_promise);
  }
}

TEST(DecodeAheadConcurrency, AStreamDroppedEarlyLeavesTheDecoderUsable) {
  DecodeAhead decoder({.threads = 2});
  {
    auto stream =
        decoder.stream(std::vector<ImageSource>(20, ImageSource::file(kImages + kFiles[0])), 8);
    ASSERT_TRUE(stream.next()->image.has_value());
  }  // 8 queued, not taken
  auto again = decoder.stream({ImageSource::file(kImages + kFiles[1])}, 1);
  EXPECT_EQ(again.next()->image->width(), 640);
}

}  // namespace
}  // namespace zeroshot
