// The CUDA backends' option string, as given after the backend's name on the command line.
#pragma once

#include <string>

#include "kernels/cuda_backend.h"

namespace moescope::kernels {

// Parses the options after "cuda:" or "cuda-grouped:", comma-separated: "fp32", "bf16",
// "gpu=N", "events", "host-routing". Throws Error naming an option it does not know.
CudaBackendOptions parse_cuda_options(const std::string& options, GemmMode mode);

}  // namespace moescope::kernels
