// Prompts from labels and templates: which templates a call uses, and every label put in every
// template (docs/ERRORS.md lists the checks).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "zeroshot/model.h"

namespace zeroshot::api {

// The templates a call uses: the ensemble, else the one template; empty = labels verbatim.
std::vector<std::string> call_templates(const ClassifyOptions& options);

// The prompts for the labels, template-major ([templates][labels]: the prompts of one template
// are contiguous, so that they share its prefix in the text tower): every "{label}" in a template
// replaced by the label; other text, including stray braces, is kept verbatim. No template = the
// labels verbatim. Throws Error (kInvalidArgument) for no labels, a negative top_k or a template
// without {label}.
std::vector<std::string> make_prompts(std::span<const std::string> labels,
                                      std::span<const std::string> templates,
                                      const ClassifyOptions& options);

// Throws Error (kInvalidArgument) unless top_k >= 0.
void check_top_k(int top_k);

}  // namespace zeroshot::api
