// zeroshot classify / zeroshot label: score labels for an image.
#include <cstdio>
#include <iostream>
#include <memory>

#include "common.h"

namespace zeroshot::cli {
namespace {

struct ClassifyFlags {
  ModelFlags model;
  std::string prompt_template = std::string(kDefaultTemplate);
  bool no_template = false;
  bool json = false;
  std::string image;
  std::vector<std::string> labels;
};

CLI::App* add_common(CLI::App& app, const char* name, const char* description,
                     const std::shared_ptr<ClassifyFlags>& flags) {
  auto* command = app.add_subcommand(name, description);
  flags->model.add_to(*command);
  auto* tmpl = command
                   ->add_option("--template", flags->prompt_template,
                                "Prompt around each label; must contain {label}")
                   ->capture_default_str();
  command->add_flag("--no-template", flags->no_template, "Use the labels verbatim as prompts")
      ->excludes(tmpl);
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_option("IMAGE", flags->image, "Image file (any format libvips reads)")->required();
  command->add_option("LABEL", flags->labels, "Candidate labels (one or more)")->required();
  return command;
}

std::vector<LabelScore> run_classify(const ClassifyFlags& flags) {
  auto model = flags.model.load();
  auto image = Image::from_file(flags.image);
  ClassifyOptions options;
  if (flags.no_template)
    options.prompt_template.reset();
  else
    options.prompt_template = flags.prompt_template;
  return model.classify(image, flags.labels, options);
}

}  // namespace

void add_classify_commands(CLI::App& app) {
  auto classify_flags = std::make_shared<ClassifyFlags>();
  auto* classify = add_common(
      app, "classify", "Score every label for an image (softmax over the labels)", classify_flags);
  classify->footer(R"(Examples:
  zeroshot classify dog.jpg "a dog" "a cat" "a sports car"
  zeroshot classify --json --no-template photo.png "a diagram" "a photograph of a street"
  zeroshot classify --repo ./my-clip-folder --template "a satellite image of {label}" x.tif farm city

Text output: one line per label, best first: score, then label. JSON output:
  [{"label": "a dog", "score": 0.97}, ...])");
  classify->callback([classify_flags] {
    auto scores = run_classify(*classify_flags);
    if (classify_flags->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& s : scores) out.push_back({{"label", s.label}, {"score", s.score}});
      print_json(out);
    } else {
      for (const auto& s : scores) std::printf("%.4f  %s\n", s.score, s.label.c_str());
    }
  });

  auto label_flags = std::make_shared<ClassifyFlags>();
  auto* label = add_common(app, "label", "Print the single best label for an image", label_flags);
  label->footer(R"(Examples:
  zeroshot label dog.jpg "a dog" "a cat"          # prints: a dog
  zeroshot label --json dog.jpg "a dog" "a cat"   # prints: {"label": "a dog"})");
  label->callback([label_flags] {
    auto scores = run_classify(*label_flags);
    if (label_flags->json)
      print_json({{"label", scores.front().label}});
    else
      std::printf("%s\n", scores.front().label.c_str());
  });
}

}  // namespace zeroshot::cli
