#include "index/update_plan.h"

#include <unordered_set>

namespace zeroshot::index {

UpdatePlan plan_update(const Store& store, std::span<const ScannedFile> files,
                       std::span<const std::string> folders) {
  UpdatePlan plan;
  std::unordered_set<std::string> found;
  for (const ScannedFile& f : files) {
    if (!found.insert(f.path).second) continue;  // named twice (a folder and a file in it)
    const auto record = store.file(f.path);
    if (!record) {
      plan.added.push_back(f);
    } else if (record->size != f.size || record->mtime_ns != f.mtime_ns) {
      plan.changed.push_back(f);
    } else {
      ++plan.unchanged;
    }
  }
  std::unordered_set<std::string> removed;
  for (const std::string& folder : folders) {
    for (std::string& path : store.paths_under(folder)) {
      if (!found.contains(path) && removed.insert(path).second)
        plan.removed.push_back(std::move(path));
    }
  }
  return plan;
}

}  // namespace zeroshot::index
