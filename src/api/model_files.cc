#include "api/model_files.h"

#include <filesystem>
#include <utility>

#include "family/registry.h"
#include "hub/cache.h"
#include "zeroshot/error.h"

namespace zeroshot::api {
namespace {

namespace fs = std::filesystem;

// The registry's declarations for one family, as the hub takes them; each need's `what` names the
// family ("the byte-level BPE tokenizer of a clip model").
hub::ModelFiles to_hub(const family::Family& family) {
  family::FolderFiles files = family::folder_files(family);
  hub::ModelFiles out{.fetch = std::move(files.fetch), .needs = {}};
  for (family::FileNeed& need : files.needs) {
    hub::FileNeed& n = out.needs.emplace_back();
    n.what = need.what + " of a " + std::string(family.model_type) + " model";
    n.forms = std::move(need.forms);
    for (family::FileNeed::Unread& u : need.unread) {
      n.unread.emplace_back(std::move(u.file), std::move(u.why));
    }
  }
  return out;
}

}  // namespace

hub::ModelLayout model_layout() {
  return {.files_for =
              [](const std::string& config_path) { return to_hub(family::family_of(config_path)); },
          .supported = family::supported_model_types()};
}

void require_model_files(const std::string& folder, const std::string& repo) {
  const fs::path config = fs::path(folder) / "config.json";
  if (!fs::is_regular_file(config)) {
    throw Error(ErrorCode::kModelNotFound,
                "model '" + repo + "': " + config.string() +
                    " is missing; a model folder needs config.json (its model_type picks the "
                    "family: " +
                    family::supported_model_types() + ") and the files of its family");
  }
  const family::Family& family = family::family_of(config.string());
  const hub::ModelFiles files = to_hub(family);
  const hub::FileNeed* need = hub::unmet_need(folder, files);
  if (need == nullptr) return;
  std::string needed = "config.json";
  for (const hub::FileNeed& n : files.needs) needed += ", " + hub::forms_text(n);
  throw Error(ErrorCode::kModelNotFound,
              "model '" + repo + "': " + (fs::path(folder) / need->forms[0][0]).string() +
                  " is missing (" + need->what + ": " + hub::forms_text(*need) + "); a " +
                  std::string(family.model_type) + " model folder needs " + needed);
}

}  // namespace zeroshot::api
