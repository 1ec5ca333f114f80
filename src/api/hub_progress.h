// The public download progress (zeroshot/hub.h) over the hub module's own (hub/hub.h), for
// download_model (hub.cc) and Model::load (model.cc).
#pragma once

#include <utility>

#include "hub/hub.h"
#include "zeroshot/hub.h"

namespace zeroshot::api {

// An empty callback stays empty (the hub then reports nothing); otherwise every hub report is
// passed on as a public DownloadProgress, and what the callback throws cancels the download.
inline hub::ProgressCallback to_hub_progress(ProgressCallback progress) {
  if (!progress) return {};
  return [progress = std::move(progress)](const hub::DownloadProgress& p) {
    progress(DownloadProgress{.file = p.file, .done = p.done, .total = p.total});
  };
}

}  // namespace zeroshot::api
