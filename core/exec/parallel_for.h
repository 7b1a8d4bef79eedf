// Splits [0, count) into up to `threads` contiguous ranges and runs fn(begin, end) on each, on
// the process's worker pool (the calling thread takes one). For the element-wise loops around
// the BLAS calls (activation, gather, combine) and the skinny products of small experts, which
// would otherwise leave all but one core idle.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/exec/worker_pool.h"

namespace moescope {

template <typename Fn>
void parallel_for(std::int64_t count, int threads, std::int64_t min_per_thread, Fn fn) {
  const std::int64_t useful = min_per_thread > 0 ? count / min_per_thread : count;
  const int n =
      static_cast<int>(std::clamp<std::int64_t>(std::min<std::int64_t>(threads, useful), 1, 64));
  if (n == 1) {
    fn(std::int64_t{0}, count);
    return;
  }
  WorkerPool::shared().run(n, [&](int t) { fn(count * t / n, count * (t + 1) / n); });
}

}  // namespace moescope
