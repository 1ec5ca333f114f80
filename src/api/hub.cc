// The public hub functions (include/zeroshot/hub.h) over the hub module, whose own types are
// mapped to the public ones here.
#include "zeroshot/hub.h"

#include <utility>

#include "api/hub_progress.h"
#include "api/model_files.h"
#include "hub/cache.h"
#include "hub/hub.h"
#include "util/env.h"

namespace zeroshot {
namespace {

CachedModel to_public(hub::CachedModel model) {
  CachedModel out{.repo = std::move(model.repo),
                  .path = std::move(model.path),
                  .size_on_disk = model.size_on_disk,
                  .revisions = {}};
  out.revisions.reserve(model.revisions.size());
  for (hub::CachedRevision& revision : model.revisions) {
    out.revisions.push_back(CachedRevision{.commit = std::move(revision.commit),
                                           .refs = std::move(revision.refs),
                                           .path = std::move(revision.path)});
  }
  return out;
}

}  // namespace

std::string download_model(const std::string& repo, const std::string& revision,
                           ProgressCallback progress) {
  return hub::download_snapshot(
      hub::ResolveOptions{.repo = repo,
                          .revision = revision,
                          .progress = api::to_hub_progress(std::move(progress)),
                          .layout = api::model_layout()});
}

std::vector<CachedModel> list_cached_models() {
  std::vector<CachedModel> models;
  for (hub::CachedModel& model : hub::scan_cache(util::hf_hub_cache())) {
    models.push_back(to_public(std::move(model)));
  }
  return models;
}

std::string hub_cache_dir() { return util::hf_hub_cache(); }

}  // namespace zeroshot
