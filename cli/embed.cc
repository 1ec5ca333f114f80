// zeroshot embed: L2-normalised embeddings of images and texts, in the order given.
#include <iostream>
#include <memory>

#include "common.h"
#include "embed_batch.h"

namespace zeroshot::cli {

void add_embed_command(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    bool json = false;
    std::vector<std::pair<bool, std::string>> inputs;  // (is_image, value) in command-line order
    EmbedBatchFlags batch_run;                         // IMAGES...: a batch run (embed_batch.h)
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand(
      "embed", "Print L2-normalised embeddings of images (--image) and texts (--text)");
  flags->model.add_to(*command);
  flags->model.add_decode_to(*command);
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
  flags->batch_run.add_to(*command);
  command->footer(R"(Examples:
  zeroshot embed --json --image dog.jpg --text "a photo of a dog"
  zeroshot embed photos/ @more.txt > embeddings.jsonl
  zeroshot embed --format npy --output part-0.npy --shard 0/4 --resume /data/photos/
Output: [{"image": "dog.jpg", "embedding": [...]}, {"text": "a photo of a dog", "embedding": [...]}]
With IMAGES (images, folders, @list.txt) it is a batch run like classify -l (docs/BATCH.md): one
{"image": P, "embedding": [...]} line per image (or {"image": P, "error": {...}}), or with
--format npy --output F.npy a float32 matrix [n, dim] (np.load("F.npy")), the image of each row
in F.paths.txt (one per line, same order) and failures in F.errors.jsonl. --shard I/N (or the
Slurm / Kubernetes variables), --output and --resume work as for classify.)");
  command->callback([flags] {
    if (!flags->batch_run.inputs.empty()) {
      if (!flags->inputs.empty()) {
        throw CLI::ValidationError("IMAGES", "give either IMAGES (a batch run) or --image/--text");
      }
      run_with_passive_waits();
      const Model model = flags->model.load();
      run_embed_batch(flags->batch_run, model, flags->model.decode_options(model));
      return;
    }
    flags->batch_run.reject_unless_batch();
    if (flags->inputs.empty())
      throw CLI::ValidationError("embed", "give at least one --image PATH or --text TEXT");
    auto model = flags->model.load();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [is_image, value] : flags->inputs) {
      auto embedding =
          is_image ? model.embed_image(Image::from_file(value, flags->model.decode_options(model)))
                   : model.embed_text(value);
      out.push_back({{is_image ? "image" : "text", value}, {"embedding", embedding}});
    }
    print_json(out);
  });
}

}  // namespace zeroshot::cli
