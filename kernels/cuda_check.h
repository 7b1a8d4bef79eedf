// Turning CUDA and cuBLAS failures into MoEScope errors that say what failed, and what the
// user can do about the common ones (out of memory, no GPU, an old driver).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

namespace moescope::kernels {

// Throws moescope::Error("<what>: <CUDA's reason>") unless `result` is cudaSuccess.
void check_cuda(cudaError_t result, const std::string& what);
void check_cublas(cublasStatus_t result, const std::string& what);

}  // namespace moescope::kernels
