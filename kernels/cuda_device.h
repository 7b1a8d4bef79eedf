// Choosing the GPU a backend runs on, with errors a user can act on: no GPU, a driver too old
// for this build, a device index that does not exist.
#pragma once

#include <string>

namespace moescope::kernels {

struct CudaDevice {
  int index = 0;
  std::string name;  // e.g. "NVIDIA H100 80GB HBM3"
  int sm_major = 0;
  int sm_minor = 0;
  std::size_t memory_bytes = 0;
};

// Makes `index` the current device of this thread and describes it. Throws Error.
CudaDevice select_cuda_device(int index);

// How many CUDA GPUs this process can use (0 when there is no driver or no GPU).
int cuda_device_count();

// One line for a status bar: "GPU 0: NVIDIA H100 80GB HBM3" (and the others), or why none can
// be used ("CUDA: no NVIDIA driver found ...; auto runs on the CPU").
std::string describe_cuda_devices();

}  // namespace moescope::kernels
