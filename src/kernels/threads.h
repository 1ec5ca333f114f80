// How many threads the kernels use. oneDNN (Debian's build uses the OpenMP runtime) and our own
// OpenMP loops read the calling thread's `nthreads-var` ICV, which omp_set_num_threads() changes
// for the calling thread only: so a scope per library call bounds that call, and threads of the
// caller that each call the library with a small count never oversubscribe the cores.
#pragma once

namespace zeroshot::kernels {

// Sets the calling thread's OpenMP thread count for the scope's lifetime and restores the
// previous value afterwards. threads <= 0 leaves the count as it is (all cores unless the caller
// set OMP_NUM_THREADS or called omp_set_num_threads itself).
class ThreadScope {
 public:
  explicit ThreadScope(int threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_ = 0;  // 0: nothing to restore
};

// The number of cores OpenMP would use by default (omp_get_num_procs()).
int available_cores();

}  // namespace zeroshot::kernels
