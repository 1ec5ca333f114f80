// The model families zeroshot knows, by config.json's "model_type".
#pragma once

#include <string>

#include "family/family.h"

namespace zeroshot::family {

// Loads `folder` with the family its config.json names ("clip" when it names none). Throws
// Error(kModelInvalid) naming the file and every supported model_type for an unknown one, and
// whatever the family's load throws.
LoadedModel load_model(const std::string& folder, kernels::GemmPrecision vision_precision);

// "clip, siglip": for messages.
std::string supported_model_types();

}  // namespace zeroshot::family
