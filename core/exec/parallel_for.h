// Splits [0, count) into `threads` contiguous ranges and runs fn(begin, end) on each, the last
// on the calling thread. For the element-wise loops around the BLAS calls (activation,
// gather, combine), which would otherwise leave all but one core idle.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

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
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(n - 1));
  for (int t = 0; t < n - 1; ++t) {
    workers.emplace_back(fn, count * t / n, count * (t + 1) / n);
  }
  fn(count * (n - 1) / n, count);
  for (auto& w : workers)
    w.join();
}

}  // namespace moescope
