// The ClassifyOptions of a label set of tests/fixtures/reference/tiny-clip.json.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "zeroshot/model.h"

namespace zeroshot::testing {

// Its template, or none (labels verbatim).
inline ClassifyOptions classify_options(const nlohmann::json& label_set) {
  ClassifyOptions options;
  if (label_set["template"].is_null())
    options.prompt_template.reset();
  else
    options.prompt_template = label_set["template"].get<std::string>();
  return options;
}

}  // namespace zeroshot::testing
