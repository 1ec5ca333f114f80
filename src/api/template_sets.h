// The built-in template sets: data/templates/NAME.txt, compiled into the library at build time
// (src/api/CMakeLists.txt generates template_sets_data.cc from the files).
#pragma once

#include <span>
#include <string_view>

namespace zeroshot::api {

struct TemplateSetText {
  std::string_view name;  // the file's name without .txt
  std::string_view text;  // the file's contents, as parse_templates() reads them
};

// Every built-in set, sorted by name.
std::span<const TemplateSetText> builtin_template_sets();

}  // namespace zeroshot::api
