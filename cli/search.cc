// zeroshot search: the indexed images (zeroshot index) best matching a text or an image.
#include <cstdio>
#include <memory>

#include "common.h"

namespace zeroshot::cli {

void add_search_commands(CLI::App& app) {
  struct Flags {
    ModelFlags model;
    std::string db;
    std::size_t top_k = 10;
    float min_score = -1.0f;
    std::string prompt_template;
    std::string image;
    std::string text;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto* command =
      app.add_subcommand("search", "Find the indexed images best matching a text or an image");
  flags->model.add_to(*command);
  command->add_option("--db", flags->db, "The index file (made by zeroshot index)")->required();
  command->add_option("--top-k", flags->top_k, "Print the best K images (0 = all)")
      ->capture_default_str();
  command
      ->add_option("--min-score", flags->min_score,
                   "Leave out images whose cosine is below S (in [-1, 1])")
      ->type_name("S");
  command->add_option("--template", flags->prompt_template,
                      "Put the text in this template (must contain {label}); default: the text "
                      "verbatim");
  auto* image = command->add_option("--image", flags->image, "Search by this image instead");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_option("TEXT", flags->text, "The text to search for")->excludes(image);
  command->footer(R"(Examples:
  zeroshot search --db photos.db "a photo of a dog on a beach"
  zeroshot search --db photos.db --template "a photo of {label}" --top-k 5 "a red car"
  zeroshot search --db photos.db --image query.jpg --min-score 0.9 --json
The model is the one the index was built with (--repo only to name it, when it moved); the text
is embedded verbatim unless --template is given. A score is the cosine of the query's and the
image's L2-normalised embeddings; results are best first. An empty index gives no results.
Text output: one line per image: score, then its absolute path. JSON output:
  [{"path": "/home/me/Pictures/dog.jpg", "score": 0.312}, ...])");
  command->callback([flags, command] {
    if (flags->image.empty() && flags->text.empty())
      throw CLI::ValidationError("search", "give a TEXT to search for, or --image PATH");
    std::string text = flags->text;
    if (!flags->prompt_template.empty()) {
      const auto at = flags->prompt_template.find("{label}");
      if (at == std::string::npos)
        throw CLI::ValidationError("--template", "the template must contain {label}");
      std::string prompt = flags->prompt_template;
      for (auto pos = prompt.find("{label}"); pos != std::string::npos;
           pos = prompt.find("{label}", pos + text.size()))
        prompt.replace(pos, 7, text);
      text = prompt;
    }
    flags->model.default_to_index(*command, Index::read_info(flags->db));
    auto model = flags->model.load();
    auto index = Index::open(flags->db, model, IndexMode::kRead, flags->model.index_model());
    const IndexSearchOptions options{.top_k = flags->top_k, .min_score = flags->min_score};
    const auto hits = flags->image.empty() ? index.search(text, options)
                                           : index.search(Image::from_file(flags->image), options);
    if (flags->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& h : hits) out.push_back({{"path", h.path}, {"score", h.score}});
      print_json(out);
      return;
    }
    for (const auto& h : hits) std::printf("%.4f  %s\n", h.score, h.path.c_str());
  });
}

}  // namespace zeroshot::cli
