// What a model folder holds, asked of the family registry (family/registry.h) and handed to the hub
// as plain data: the one place between the two, so that neither hub nor api names a family.
#pragma once

#include <string>

#include "hub/model_files.h"

namespace zeroshot::api {

// The hub's ModelLayout for every registered family: files_for reads config.json's model_type
// (throwing the registry's kModelInvalid for an unknown one) and returns its family's files.
hub::ModelLayout model_layout();

// Throws Error(kModelNotFound) naming `repo` and the first missing file unless `folder` holds
// config.json and every file its family needs; kModelInvalid for a config.json no family loads.
void require_model_files(const std::string& folder, const std::string& repo);

}  // namespace zeroshot::api
