// A kernels::PackedStore backed by one file of the prepared-weights cache (directory.h): the
// packed weights of one model tower. The first use of the tower opens it: a valid file under the
// final name is mapped read-only and each slot is checked (xxHash) on first use before its bytes
// are used; otherwise the weights are packed in memory as without a cache and each slot is
// written to a temporary file as it is packed; once every slot is there, its header is written
// and the file renamed into place. Anything that fails (a damaged slot, a full disk, a read-only
// folder) leaves the weights packed in memory, as without a cache.
#pragma once

#include <memory>
#include <string>

#include "kernels/gemm.h"

namespace zeroshot::weights_cache {

// The store for `tower` of the safetensors file `source`, or nullptr when the cache is off
// (ZEROSHOT_PREPARED_CACHE=off) or the source cannot be identified. Touches no file until used.
std::shared_ptr<kernels::PackedStore> open_store(const std::string& source,
                                                 const std::string& tower,
                                                 const std::string& precision);

// The same in `folder` (tests).
std::shared_ptr<kernels::PackedStore> open_store_in(const std::string& folder,
                                                    const std::string& source,
                                                    const std::string& tower,
                                                    const std::string& precision);

}  // namespace zeroshot::weights_cache
