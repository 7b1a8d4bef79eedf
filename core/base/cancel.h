// Progress and cancellation for long operations: the CLI's Ctrl-C and the GUI's Cancel button
// set the flag; the work checks it between units and throws Cancelled.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "core/base/error.h"

namespace moescope {

using CancelFlag = std::atomic<bool>;
using ProgressFn = std::function<void(std::int64_t done, std::int64_t total)>;

inline void throw_if_cancelled(const CancelFlag* cancel) {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

}  // namespace moescope
