#include "zeroshot/version.h"

namespace zeroshot {

const char* version() noexcept { return "0.1.0"; }

}  // namespace zeroshot
