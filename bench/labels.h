// The bench's labels, shared by model_bench and bench/peers/peer_inputs so that the peer benchmark
// feeds ONNX Runtime exactly the prompts model_bench times.
#pragma once

#include <string>
#include <vector>

namespace zeroshot::bench {

// n distinct short labels, "adjective noun" (every word one CLIP token: 2 tokens a label, as
// typical class names); past 25 x 40 pairs a number is appended.
inline std::vector<std::string> make_labels(int n) {
  static const char* const kAdjectives[] = {
      "red",   "small", "wooden", "old", "shiny", "big",   "blue",  "green", "white",
      "black", "young", "wet",    "dry", "dark",  "light", "round", "tall",  "long",
      "short", "happy", "sad",    "hot", "cold",  "new",   "dirty"};
  static const char* const kNouns[] = {
      "dog",   "cat",      "car",    "house", "tree",  "bird",  "boat",  "chair",
      "river", "mountain", "street", "fruit", "horse", "table", "phone", "book",
      "plane", "train",    "flower", "fish",  "road",  "beach", "bike",  "bus",
      "door",  "cup",      "bed",    "shoe",  "hat",   "clock", "lamp",  "bridge",
      "cake",  "apple",    "garden", "ball",  "bear",  "cow",   "duck",  "girl"};
  std::vector<std::string> labels;
  for (int i = 0; i < n; ++i) {
    std::string label = std::string(kAdjectives[i % 25]) + " " + kNouns[(i / 25) % 40];
    if (i >= 25 * 40) label += " " + std::to_string(i);
    labels.push_back(label);
  }
  return labels;
}

// The labels as classify prompts them with the default template ("a photo of {label}").
inline std::vector<std::string> photo_prompts(const std::vector<std::string>& labels) {
  std::vector<std::string> prompts;
  for (const auto& l : labels) prompts.push_back("a photo of " + l);
  return prompts;
}

}  // namespace zeroshot::bench
