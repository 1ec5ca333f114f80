// Prompt templates: the built-in sets (compiled in from data/templates/) and template files.
#include "zeroshot/templates.h"

#include <fstream>
#include <sstream>

#include "api/template_sets.h"
#include "zeroshot/error.h"

namespace zeroshot {

std::vector<std::string> template_set_names() {
  std::vector<std::string> names;
  for (const auto& set : api::builtin_template_sets()) names.emplace_back(set.name);
  return names;
}

std::vector<std::string> template_set(std::string_view name) {
  for (const auto& set : api::builtin_template_sets()) {
    if (set.name == name) return parse_templates(set.text, "template set " + std::string(name));
  }
  std::string known;
  for (const auto& set : api::builtin_template_sets())
    known += (known.empty() ? "" : ", ") + std::string(set.name);
  throw Error(ErrorCode::kInvalidArgument,
              "unknown template set '" + std::string(name) + "'; the built-in sets are: " + known);
}

std::vector<std::string> parse_templates(std::string_view text, std::string_view source) {
  std::vector<std::string> templates;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.find("{label}") == std::string_view::npos) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string(source) + ":" + std::to_string(line_number) + ": template \"" +
                      std::string(line) +
                      "\" has no {label} placeholder (e.g. \"a photo of {label}\")");
    }
    templates.emplace_back(line);
  }
  if (templates.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(source) +
                    ": no templates (one a line, each with {label}; blank lines and lines "
                    "starting with # are skipped)");
  }
  return templates;
}

std::vector<std::string> read_templates_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read the templates file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorCode::kIo, "cannot read the templates file " + path);
  return parse_templates(text.str(), path);
}

}  // namespace zeroshot
