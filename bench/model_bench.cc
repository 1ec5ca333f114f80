// model_bench: end-to-end timings of the public API on a full-size random-weight ViT-B/32.
//   model_bench [MODEL_FOLDER] [--repeats N]
// Without a folder it generates build/bench-models/clip-vit-base-patch32-random on first use.
// Reports medians of N runs (after one warm-up) and the process's peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "support/random_clip.h"
#include "zeroshot/zeroshot.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double median_ms(int repeats, F&& f) {
  f();  // warm-up
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder = "build/bench-models/clip-vit-base-patch32-random";
  int repeats = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--repeats" && i + 1 < argc)
      repeats = std::max(1, std::stoi(argv[++i]));
    else
      folder = a;
  }
  if (!std::filesystem::exists(folder + "/model.safetensors")) {
    std::fprintf(stderr, "generating %s (random ViT-B/32 weights)...\n", folder.c_str());
    zeroshot::testing::RandomClipOptions options;
    options.tokenizer_from = std::string(ZEROSHOT_FIXTURES) + "/models/tiny-clip";
    zeroshot::testing::write_random_clip(folder, options);
  }
  const auto weights_mib = std::filesystem::file_size(folder + "/model.safetensors") / 1048576.0;
  const auto image =
      zeroshot::Image::from_file(std::string(ZEROSHOT_FIXTURES) + "/images/scene_640x480_q92.jpg");
  const std::vector<std::string> labels = {"a dog", "a cat", "a sports car", "a bowl of fruit"};

  auto t0 = Clock::now();
  auto model = zeroshot::Model::load({.repo = folder});
  const double first_load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const double load_ms =
      median_ms(std::max(1, repeats / 3), [&] { zeroshot::Model::load({.repo = folder}); });
  const double image_ms = median_ms(repeats, [&] { model.embed_image(image); });
  const double text_ms = median_ms(repeats, [&] { model.embed_text("a photo of a dog"); });
  const double classify_ms = median_ms(repeats, [&] { model.classify(image, labels); });

  std::printf("model                 %s (%.0f MiB of weights)\n", folder.c_str(), weights_mib);
  std::printf("load (first)          %8.1f ms\n", first_load_ms);
  std::printf("load (warm cache)     %8.1f ms  median of %d\n", load_ms, std::max(1, repeats / 3));
  std::printf("embed_image 640x480   %8.1f ms  median of %d (decode excluded, preprocess incl.)\n",
              image_ms, repeats);
  std::printf("embed_text (7 tokens) %8.2f ms  median of %d\n", text_ms, repeats);
  std::printf("classify (4 labels)   %8.1f ms  median of %d\n", classify_ms, repeats);
  std::printf("peak RSS              %8.0f MiB (%.2fx the weights file)\n", peak_rss_mib(),
              peak_rss_mib() / weights_mib);
  return 0;
}
