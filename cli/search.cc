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
    bool ann = false;
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
  command->add_flag("--ann", flags->ann,
                    "Approximate search (an HNSW graph, built in memory first: slower than exact "
                    "for one query; for checking its recall on your data, or in zeroshot serve)");
  command->add_option("TEXT", flags->text, "The text to search for")->excludes(image);
  command->footer(R"(Examples:
  zeroshot search --db photos.db "a photo of a dog on a beach"
  zeroshot search --db photos.db --template "a photo of {label}" --top-k 5 "a red car"
  zeroshot search --db photos.db --image query.jpg --min-score 0.9 --json
The model is the one the index was built with (--repo and --revision default to it; another
model is refused: its vectors cannot be compared with the index's). The text is embedded verbatim unless --template is given. A score is the cosine of the query's and the
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
    const IndexSearchOptions options{
        .top_k = flags->top_k, .min_score = flags->min_score, .approximate = flags->ann};
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

  struct DupsFlags {
    ModelFlags model;
    std::string db;
    float threshold = 0.98f;
    bool json = false;
  };
  auto dups_flags = std::make_shared<DupsFlags>();
  auto* dups = app.add_subcommand("dups", "Print groups of near-duplicate images of an index");
  dups_flags->model.add_to(*dups);
  dups->add_option("--db", dups_flags->db, "The index file (made by zeroshot index)")->required();
  dups->add_option("--threshold", dups_flags->threshold,
                   "Link two images whose cosine is at least T (in [-1, 1])")
      ->type_name("T")
      ->capture_default_str();
  dups->add_flag("--json", dups_flags->json, "Print JSON for scripts");
  dups->footer(R"(Examples:
  zeroshot dups --db photos.db
  zeroshot dups --db photos.db --threshold 0.95 --json
Images whose stored embeddings have a cosine of at least T are linked, and linked images form a
group (a chain of close pairs is one group). Resized, recompressed or lightly edited copies of a
photo score close to 1 with CLIP models; lower T finds looser matches (and more false ones). No
image is decoded; the model defaults to the index's; every pair is compared (exact, quadratic in the images).
Text output: each group's paths, one per line, sorted, groups separated by a blank line.
JSON output: [["/abs/a.jpg", "/abs/a-copy.jpg"], ...])");
  dups->callback([dups_flags, dups] {
    if (!(dups_flags->threshold >= -1.0f && dups_flags->threshold <= 1.0f))
      throw CLI::ValidationError("--threshold", "T must be a cosine, from -1 to 1");
    dups_flags->model.default_to_index(*dups, Index::read_info(dups_flags->db));
    auto model = dups_flags->model.load();
    auto index =
        Index::open(dups_flags->db, model, IndexMode::kRead, dups_flags->model.index_model());
    const auto groups = index.duplicates(dups_flags->threshold);
    if (dups_flags->json) {
      print_json(groups);
      return;
    }
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (g > 0) std::printf("\n");
      for (const auto& path : groups[g]) std::printf("%s\n", path.c_str());
    }
  });
}

}  // namespace zeroshot::cli
