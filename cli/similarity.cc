// zeroshot similarity: cosine similarity of two images' embeddings.
#include <cstdio>
#include <memory>

#include "common.h"

namespace zeroshot::cli {

void add_similarity_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    bool json = false;
    std::string a, b;
  };
  auto flags = std::make_shared<Flags>();
  auto* command =
      app.add_subcommand("similarity", "Cosine similarity of two images' embeddings, in [-1, 1]");
  flags->model.add_to(*command);
  flags->model.add_decode_to(*command);
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_option("IMAGE_A", flags->a, "First image")->required();
  command->add_option("IMAGE_B", flags->b, "Second image")->required();
  command->footer(R"(Examples:
  zeroshot similarity cat1.jpg cat2.jpg          # prints e.g. 0.9132
  zeroshot similarity --json a.png b.webp        # prints {"similarity": 0.9132})");
  command->callback([flags] {
    auto model = flags->model.load();
    const DecodeOptions decode = flags->model.decode_options(model);
    float s =
        model.similarity(Image::from_file(flags->a, decode), Image::from_file(flags->b, decode));
    if (flags->json)
      print_json({{"similarity", s}});
    else
      std::printf("%.4f\n", s);
  });
}

}  // namespace zeroshot::cli
