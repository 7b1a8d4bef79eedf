#include "core/exec/worker_pool.h"

#include <algorithm>

namespace moescope {

namespace {

thread_local bool inside_a_part = false;

}  // namespace

WorkerPool& WorkerPool::shared() {
  static WorkerPool pool(
      std::clamp(static_cast<int>(std::thread::hardware_concurrency()) - 1, 0, 63));
  return pool;
}

WorkerPool::WorkerPool(int workers) {
  for (int i = 0; i < workers; ++i)
    threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
}

// Takes parts until none is left; called with mutex_ unlocked.
void WorkerPool::take_parts() {
  for (;;) {
    int part = 0;
    {
      std::lock_guard lock(mutex_);
      if (next_ >= parts_) return;
      part = next_++;
      ++running_;
    }
    inside_a_part = true;
    (*part_)(part);
    inside_a_part = false;
    bool last = false;
    {
      std::lock_guard lock(mutex_);
      last = --running_ == 0 && next_ >= parts_;
    }
    if (last) finished_.notify_all();
  }
}

void WorkerPool::work() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    take_parts();
  }
}

void WorkerPool::run(int parts, const std::function<void(int)>& part) {
  if (parts <= 0) return;
  if (parts == 1 || threads_.empty() || inside_a_part) {
    for (int i = 0; i < parts; ++i)
      part(i);
    return;
  }
  std::lock_guard one_at_a_time(run_mutex_);
  {
    std::lock_guard lock(mutex_);
    part_ = &part;
    parts_ = parts;
    next_ = 0;
    running_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  take_parts();
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] { return next_ >= parts_ && running_ == 0; });
  part_ = nullptr;
  parts_ = 0;
}

}  // namespace moescope
