// Prompt templates for ensembles: OpenAI's built-in sets and template files.
//
//   auto templates = zeroshot::template_set("openai-imagenet-80");
//   model.classify(image, labels, {.templates = templates});
//
// A template is any text with "{label}" in it (every "{label}" is replaced by the label).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zeroshot {

// The names of the built-in template sets, sorted: "openai-imagenet-7" (the 7 templates OpenAI's
// forward selection kept) and "openai-imagenet-80" (the 80 of the CLIP paper), from OpenAI's
// notebooks/Prompt_Engineering_for_ImageNet.ipynb. They are compiled into the library.
std::vector<std::string> template_set_names();

// The templates of a built-in set, in their published order. Throws Error(kInvalidArgument)
// naming the known sets for an unknown name.
std::vector<std::string> template_set(std::string_view name);

// Templates from text: one a line; blank lines and lines starting with '#' are skipped, a trailing
// '\r' is dropped, everything else is kept verbatim. Throws Error(kInvalidArgument) naming
// `source` and the line for a template without "{label}", and naming `source` when there is no
// template at all.
std::vector<std::string> parse_templates(std::string_view text, std::string_view source);

// parse_templates() of a file's contents (errors name the path). Throws Error(kIo) when the file
// cannot be read.
std::vector<std::string> read_templates_file(const std::string& path);

}  // namespace zeroshot
