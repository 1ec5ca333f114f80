// Built against the installed package by check_install.sh: prints the best label of an image, then
// how many templates the built-in openai-imagenet-80 set has (compiled in: no data folder needed).
#include <zeroshot/zeroshot.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto model = zeroshot::Model::load({.repo = argv[1]});
  std::vector<std::string> labels = {"a dog", "a cat", "a horse"};
  std::printf("%s\n", model.label(zeroshot::Image::from_file(argv[2]), labels).c_str());
  std::printf("%zu\n", zeroshot::template_set("openai-imagenet-80").size());
}
