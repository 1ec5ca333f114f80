#include "kernels/threads.h"

#include <omp.h>

namespace zeroshot::kernels {

ThreadScope::ThreadScope(int threads) {
  if (threads <= 0) return;
  previous_ = omp_get_max_threads();
  if (previous_ != threads) {
    omp_set_num_threads(threads);
  } else {
    previous_ = 0;
  }
}

ThreadScope::~ThreadScope() {
  if (previous_ > 0) omp_set_num_threads(previous_);
}

int available_cores() { return omp_get_num_procs(); }

}  // namespace zeroshot::kernels
