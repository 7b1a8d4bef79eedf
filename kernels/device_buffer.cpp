#include "kernels/device_buffer.h"

#include "core/base/error.h"

namespace moescope::kernels {

namespace {

std::string mib(std::size_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}

}  // namespace

void DeviceBuffer::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return;
  cudaFree(data_);
  data_ = nullptr;
  capacity_ = 0;
  if (cudaMalloc(&data_, bytes) != cudaSuccess) {
    cudaGetLastError();  // the failed allocation is not sticky; clear it
    data_ = nullptr;
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    int device = 0;
    cudaGetDevice(&device);
    throw Error("GPU " + std::to_string(device) + " is out of memory: " + what_ + " needs " +
                mib(bytes) + ", " + mib(free_bytes) + " of " + mib(total_bytes) +
                " are free; use fewer tokens, a larger --scale, or the CPU backend");
  }
  capacity_ = bytes;
}

}  // namespace moescope::kernels
