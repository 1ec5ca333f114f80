// The model families zeroshot knows, by config.json's "model_type", and what they declare: the
// api asks here (and hands the hub and the cache plain data) instead of naming a family.
#pragma once

#include <string>

#include "family/family.h"

namespace zeroshot::family {

// The family of the config.json at `config_path`: the one registered for its model_type, the
// first registered when it names none (the original CLIP configs). Throws Error(kModelInvalid)
// naming the file for malformed JSON, and naming every supported model_type for an unknown one.
const Family& family_of(const std::string& config_path);

// Every file of a folder of `family` besides config.json: model.safetensors (with the forms of
// weights zeroshot does not read, and why) and preprocessor_config.json, which every family's
// folder holds, then the family's own (Family::files).
FolderFiles folder_files(const Family& family);

// Loads `folder` with the family of its config.json (family_of). Throws what family_of throws and
// whatever the family's load throws.
LoadedModel load_model(const std::string& folder, kernels::GemmPrecision vision_precision);

// "clip, siglip": every registered model_type, for messages.
std::string supported_model_types();

}  // namespace zeroshot::family
