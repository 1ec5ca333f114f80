#include "family/registry.h"

#include <filesystem>

#include "config/json_reader.h"
#include "family/clip/clip_family.h"
#include "family/siglip/siglip_family.h"
#include "util/mapped_file.h"
#include "zeroshot/error.h"

namespace zeroshot::family {
namespace {

// One line per family: a new family is its folder plus its line here.
const Family* const kFamilies[] = {
    &clip::kFamily,
    &siglip::kFamily,
};

}  // namespace

std::string supported_model_types() {
  std::string names;
  for (const Family* f : kFamilies) names.append(names.empty() ? "" : ", ").append(f->model_type);
  return names;
}

LoadedModel load_model(const std::string& folder, kernels::GemmPrecision vision_precision) {
  const std::string config_path = (std::filesystem::path(folder) / "config.json").string();
  const std::string model_type =
      config::json_reader::read_model_type(util::read_file(config_path), config_path);
  for (const Family* f : kFamilies) {
    if (f->model_type == model_type) return f->load(folder, vision_precision);
  }
  throw Error(ErrorCode::kModelInvalid, config_path + ": model_type \"" + model_type +
                                            "\" is not supported; zeroshot loads " +
                                            supported_model_types());
}

}  // namespace zeroshot::family
