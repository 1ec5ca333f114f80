// make_random_clip FOLDER [CONFIG_JSON] [f32|f16|bf16]: writes a random-weight CLIP model folder.
// Without CONFIG_JSON the model is a full-size ViT-B/32 (Hugging Face's CLIPConfig defaults).
#include <fstream>
#include <iostream>

#include "support/random_clip.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: make_random_clip FOLDER [CONFIG_JSON] [f32|f16|bf16]\n";
    return 2;
  }
  zeroshot::testing::RandomClipOptions options;
  options.tokenizer_from = ZEROSHOT_TOKENIZER_FROM;
  if (argc >= 3) {
    std::ifstream in(argv[2]);
    options.config = nlohmann::json::parse(in);
  }
  if (argc == 4) options.weight_type = zeroshot::testing::weight_type_from(argv[3]);
  zeroshot::testing::write_random_clip(argv[1], options);
  std::cout << argv[1] << "\n";
  return 0;
}
