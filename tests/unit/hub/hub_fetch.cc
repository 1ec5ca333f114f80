// Test helper: one download in its own process (killed with SIGKILL, or run twice at once, by
// hub_test). Usage: hub_fetch REPO [REVISION]; prints the snapshot folder; exit 1 on error.
#include <iostream>

#include "api/model_files.h"
#include "hub/hub.h"
#include "zeroshot/error.h"

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  try {
    zeroshot::hub::ResolveOptions options;
    options.repo = argv[1];
    if (argc > 2) options.revision = argv[2];
    options.layout = zeroshot::api::model_layout();
    std::cout << zeroshot::hub::download_snapshot(options) << "\n";
    return 0;
  } catch (const zeroshot::Error& e) {
    std::cerr << "hub_fetch: " << e.what() << "\n";
    return 1;
  }
}
