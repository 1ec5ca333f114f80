// The public hub functions (include/zeroshot/hub.h) over the hub module.
#include "zeroshot/hub.h"

#include "hub/cache.h"
#include "hub/hub.h"
#include "util/env.h"

namespace zeroshot {

std::string download_model(const std::string& repo, const std::string& revision,
                           ProgressCallback progress) {
  return hub::download_snapshot(hub::ResolveOptions{repo, revision, std::move(progress)});
}

std::vector<CachedModel> list_cached_models() { return hub::scan_cache(util::hf_hub_cache()); }

std::string hub_cache_dir() { return util::hf_hub_cache(); }

}  // namespace zeroshot
