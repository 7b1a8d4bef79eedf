// A few threads kept for the CPU backend's short parallel loops (gather, activation, combine,
// the skinny products of small experts). Starting a thread for each loop costs tens of
// microseconds, more than many of the loops themselves, and makes every expert's time jitter;
// these threads are started once and wait for work.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace moescope {

class WorkerPool {
 public:
  // The pool of the process: the hardware's threads less the caller's (at most 63).
  static WorkerPool& shared();

  explicit WorkerPool(int workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int workers() const { return static_cast<int>(threads_.size()); }

  // Runs part(i) for every i in [0, parts), the calling thread taking its share, and returns
  // when all have finished. One loop at a time; a loop started from inside a part runs inline.
  void run(int parts, const std::function<void(int)>& part);

 private:
  void work();
  void take_parts();

  std::vector<std::thread> threads_;
  std::mutex run_mutex_;  // one loop at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  const std::function<void(int)>* part_ = nullptr;
  int parts_ = 0;
  int next_ = 0;     // the next part to take
  int running_ = 0;  // parts taken and not yet finished
};

}  // namespace moescope
