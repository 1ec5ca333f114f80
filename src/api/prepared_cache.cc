// The prepared-weights cache's public listing and clearing (zeroshot/hub.h): weights_cache/.
#include "util/env.h"
#include "weights_cache/directory.h"
#include "weights_cache/store.h"
#include "zeroshot/hub.h"

namespace zeroshot {

std::string prepared_cache_dir() { return util::prepared_cache_dir().value_or(""); }

std::vector<PreparedWeights> list_prepared_weights() {
  std::vector<PreparedWeights> out;
  const auto folder = util::prepared_cache_dir();
  if (!folder) return out;
  for (const weights_cache::Entry& e : weights_cache::list(*folder)) {
    out.push_back(
        {e.path, e.bytes, e.source, e.tower, e.precision, e.signature, e.stale, e.temporary});
  }
  return out;
}

uint64_t clear_prepared_weights(bool stale_only) {
  const auto folder = util::prepared_cache_dir();
  return folder ? weights_cache::clear(*folder, stale_only) : 0;
}

void defer_prepared_weights() {
  weights_cache::set_write_mode(weights_cache::WriteMode::kDeferred);
}

bool write_prepared_weights_in_background() {
  return weights_cache::write_deferred_in_background();
}

}  // namespace zeroshot
