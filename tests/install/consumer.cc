// Built against the installed package by check_install.sh: prints the best label of an image.
#include <zeroshot/zeroshot.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto model = zeroshot::Model::load({.repo = argv[1]});
  std::vector<std::string> labels = {"a dog", "a cat", "a horse"};
  std::printf("%s\n", model.label(zeroshot::Image::from_file(argv[2]), labels).c_str());
}
