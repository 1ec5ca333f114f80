#include "api/prompts.h"

#include <string_view>

#include "zeroshot/error.h"

namespace zeroshot::api {

std::vector<std::string> call_templates(const ClassifyOptions& options) {
  if (!options.templates.empty()) return options.templates;
  if (options.prompt_template) return {*options.prompt_template};
  return {};
}

void check_top_k(int top_k) {
  if (top_k < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "top_k is " + std::to_string(top_k) +
                    ": it must be at least 1 (the best K labels), or 0 for every label");
  }
}

// An empty label is a valid prompt, as in Hugging Face (verbatim it tokenises to
// <|startoftext|><|endoftext|>).
std::vector<std::string> make_prompts(std::span<const std::string> labels,
                                      std::span<const std::string> templates,
                                      const ClassifyOptions& options) {
  static constexpr std::string_view kField = "{label}";
  if (labels.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "no labels given: classify needs at least one label");
  }
  check_top_k(options.top_k);
  for (std::size_t t = 0; t < templates.size(); ++t) {
    if (templates[t].find(kField) == std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument,
                  (templates.size() > 1 ? "template " + std::to_string(t + 1) + " of " +
                                              std::to_string(templates.size()) + ", "
                                        : std::string("template ")) +
                      "\"" + templates[t] +
                      "\" has no {label} placeholder (e.g. \"a photo of {label}\"); pass no "
                      "template to use labels verbatim");
    }
  }
  if (templates.empty()) return {labels.begin(), labels.end()};
  std::vector<std::string> prompts;
  prompts.reserve(templates.size() * labels.size());
  for (const std::string& tmpl : templates) {
    for (const std::string& label : labels) {
      std::string prompt;
      std::string_view t = tmpl;
      for (std::size_t pos; (pos = t.find(kField)) != std::string_view::npos;
           t.remove_prefix(pos + kField.size())) {
        prompt.append(t.substr(0, pos)).append(label);
      }
      prompts.push_back(prompt.append(t));
    }
  }
  return prompts;
}

}  // namespace zeroshot::api
