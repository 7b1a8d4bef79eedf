#include "profiler/cuda_event_timer.h"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace moescope::profiler {

namespace {

void check(cudaError_t result, const char* what) {
  if (result != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA event ") + what + ": " + cudaGetErrorString(result));
  }
}

}  // namespace

CudaEventTimer::~CudaEventTimer() {
  for (auto* event : events_)
    cudaEventDestroy(event);
}

std::size_t CudaEventTimer::mark() {
  if (used_ == events_.size()) {
    cudaEvent_t event = nullptr;
    check(cudaEventCreate(&event), "create");
    events_.push_back(event);
  }
  check(cudaEventRecord(events_[used_], stream_), "record");
  return used_++;
}

std::int64_t CudaEventTimer::elapsed_ns(std::size_t from, std::size_t to) {
  if (from >= used_ || to >= used_) throw std::out_of_range("CUDA event timer: no such mark");
  check(cudaEventSynchronize(events_[used_ - 1]), "synchronize");
  float ms = 0.0f;
  check(cudaEventElapsedTime(&ms, events_[from], events_[to]), "elapsed time");
  return static_cast<std::int64_t>(static_cast<double>(ms) * 1e6);
}

}  // namespace moescope::profiler
