// zeroshot embed: L2-normalised CLIP embeddings of images and texts, in the order given.
#include <iostream>
#include <memory>

#include "common.h"

namespace zeroshot::cli {

void add_embed_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    bool json = false;
    std::vector<std::pair<bool, std::string>> inputs;  // (is_image, value) in command-line order
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "embed", "Print L2-normalised embeddings of images (--image) and texts (--text)");
  flags->model.add_to(*command);
  command->add_flag("--json", flags->json, "Print JSON (the only output format; kept explicit)");
  // Options keep their command-line order through each_option callbacks.
  command
      ->add_option_function<std::vector<std::string>>(
          "--image",
          [flags](const std::vector<std::string>& v) {
            for (const auto& p : v) flags->inputs.emplace_back(true, p);
          },
          "Image file to embed (repeatable)")
      ->trigger_on_parse()
      ->allow_extra_args(false);
  command
      ->add_option_function<std::vector<std::string>>(
          "--text",
          [flags](const std::vector<std::string>& v) {
            for (const auto& t : v) flags->inputs.emplace_back(false, t);
          },
          "Text to embed, used verbatim (no template; repeatable)")
      ->trigger_on_parse()
      ->allow_extra_args(false);
  command->footer(R"(Examples:
  zeroshot embed --json --image dog.jpg --text "a photo of a dog"
Output: [{"image": "dog.jpg", "embedding": [...]}, {"text": "a photo of a dog", "embedding": [...]}])");
  command->callback([flags] {
    if (flags->inputs.empty())
      throw CLI::ValidationError("embed", "give at least one --image PATH or --text TEXT");
    auto model = flags->model.load();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [is_image, value] : flags->inputs) {
      auto embedding =
          is_image ? model.embed_image(Image::from_file(value)) : model.embed_text(value);
      out.push_back({{is_image ? "image" : "text", value}, {"embedding", embedding}});
    }
    print_json(out);
  });
}

}  // namespace zeroshot::cli
