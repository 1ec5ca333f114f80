// make_random_siglip FOLDER [CONFIG_JSON] [f32|f16|bf16]: writes a random-weight SigLIP model
// folder. Without CONFIG_JSON the model has google/siglip-base-patch16-224's shapes (Hugging
// Face's SiglipConfig defaults) with the test tokenizer's 1000-piece vocabulary.
#include <fstream>
#include <iostream>

#include "support/random_clip.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: make_random_siglip FOLDER [CONFIG_JSON] [f32|f16|bf16]\n";
    return 2;
  }
  zeroshot::testing::RandomSiglipOptions options;
  options.tokenizer_from = ZEROSHOT_TOKENIZER_FROM;
  options.config = {{"text_config", {{"vocab_size", 1000}}}};
  if (argc >= 3) {
    std::ifstream in(argv[2]);
    options.config = nlohmann::json::parse(in);
  }
  if (argc == 4) options.weight_type = zeroshot::testing::weight_type_from(argv[3]);
  zeroshot::testing::write_random_siglip(argv[1], options);
  std::cout << argv[1] << "\n";
  return 0;
}
