// The CUDA-events collector, for when CUPTI cannot be used: events recorded on a stream
// between the kernels, read back once the stream is done. Event timing has a resolution of
// about half a microsecond and includes launch gaps, which is why CUPTI is preferred.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct CUstream_st;
struct CUevent_st;

namespace moescope::profiler {

class CudaEventTimer {
 public:
  explicit CudaEventTimer(CUstream_st* stream) : stream_(stream) {}
  ~CudaEventTimer();
  CudaEventTimer(const CudaEventTimer&) = delete;
  CudaEventTimer& operator=(const CudaEventTimer&) = delete;

  // Records an event on the stream; returns its index. Throws std::runtime_error on a CUDA
  // error.
  std::size_t mark();
  // Waits for the last mark, then the time between marks `from` and `to`.
  std::int64_t elapsed_ns(std::size_t from, std::size_t to);
  // Forgets the marks (their events are reused).
  void reset() { used_ = 0; }

 private:
  CUstream_st* stream_;
  std::vector<CUevent_st*> events_;
  std::size_t used_ = 0;
};

}  // namespace moescope::profiler
