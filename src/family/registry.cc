#include "family/registry.h"

#include <filesystem>

#include "config/json_reader.h"
#include "family/family_headers.h"  // generated: every family folder's <name>_family.h
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family {
namespace {

// One line per family: a new family is its folder plus its line here (its header comes with the
// generated family_headers.h). The first one also loads a config.json without a model_type.
const Family* const kFamilies[] = {
    &clip::kFamily,
    &siglip::kFamily,
};

// model_types known not to load yet, and why (what a user can do instead).
struct NotYet {
  const char* model_type;
  const char* why;
};
constexpr NotYet kNotYet[] = {
    {"siglip2",
     "SigLIP 2 NaFlex checkpoints (variable resolution: a patch count per image, position "
     "embeddings resized per image) are not supported yet; the fixed-resolution SigLIP 2 "
     "checkpoints (google/siglip2-base-patch16-224, -256, -384, -512, so400m, giant-opt) have "
     "model_type \"siglip\" and load"},
};

}  // namespace

std::string supported_model_types() {
  std::string names;
  for (const Family* f : kFamilies) names.append(names.empty() ? "" : ", ").append(f->model_type);
  return names;
}

const Family& family_of(const std::string& config_path) {
  const std::string model_type =
      config::json_reader::read_model_type(util::read_file(config_path), config_path);
  if (model_type.empty()) return *kFamilies[0];
  for (const Family* f : kFamilies) {
    if (f->model_type == model_type) return *f;
  }
  for (const NotYet& n : kNotYet) {
    if (model_type == n.model_type) {
      throw Error(ErrorCode::kModelInvalid,
                  config_path + ": model_type \"" + model_type + "\": " + n.why);
    }
  }
  throw Error(ErrorCode::kModelInvalid, config_path + ": model_type \"" + model_type +
                                            "\" is not supported; zeroshot loads " +
                                            supported_model_types());
}

FolderFiles folder_files(const Family& family) {
  FolderFiles files{.fetch = {"model.safetensors", "preprocessor_config.json"}, .needs = {}};
  files.needs.push_back(
      {.what = "the weights",
       .forms = {{"model.safetensors"}},
       .unread = {{.file = "model.safetensors.index.json",
                   .why = "its weights are sharded; zeroshot loads the weights of its families (" +
                          supported_model_types() +
                          ") from a single model.safetensors. Merge the shards into one "
                          "model.safetensors and load that folder."},
                  {.file = "pytorch_model.bin",
                   .why = "zeroshot does not load pytorch_model.bin: it is a Python pickle, and "
                          "loading one can execute arbitrary code. Convert it to "
                          "model.safetensors (e.g. with the hub's safetensors convert Space, which "
                          "opens a PR with a 'refs/pr/N' revision) and pass that revision, or use "
                          "a repo that ships model.safetensors."}}});
  files.needs.push_back(
      {.what = "the image preprocessing", .forms = {{"preprocessor_config.json"}}, .unread = {}});
  files.fetch.insert(files.fetch.end(), family.files.fetch.begin(), family.files.fetch.end());
  files.needs.insert(files.needs.end(), family.files.needs.begin(), family.files.needs.end());
  return files;
}

LoadedModel load_model(const std::string& folder, kernels::GemmPrecision vision_precision) {
  const Family& family = family_of((std::filesystem::path(folder) / "config.json").string());
  LoadedModel loaded = family.load(folder, vision_precision);
  loaded.scoring = family.scoring;
  return loaded;
}

}  // namespace zeroshot::family
