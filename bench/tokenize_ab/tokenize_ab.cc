// Tokenization cost of 100 labels through the public API (Model::tokenize), for comparing two
// builds of the library (run.sh: the same source linked against each, runs interleaved). Prints
// the median microseconds per 100 labels over 25 rounds of 40 passes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "zeroshot/zeroshot.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tokenize_ab MODEL_DIR\n");
    return 2;
  }
  const auto model = zeroshot::Model::load({.repo = argv[1]});
  const char* words[] = {"dog",      "golden retriever", "sports car",      "Eiffel Tower",
                         "café",     "T-shirt",          "jack-o'-lantern", "hot-air balloon",
                         "espresso", "tabby cat"};
  std::vector<std::string> labels;
  for (int i = 0; i < 100; ++i)
    labels.push_back("a photo of a " + std::string(words[i % 10]) + " number " + std::to_string(i));
  std::vector<double> rounds;
  std::size_t sink = 0;
  for (int r = 0; r < 25; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int pass = 0; pass < 40; ++pass)
      for (const auto& l : labels) sink += model.tokenize(l).size();
    const auto us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    rounds.push_back(us / 40);
  }
  std::sort(rounds.begin(), rounds.end());
  std::printf("%.1f\n", rounds[rounds.size() / 2]);
  return sink == 0;
}
