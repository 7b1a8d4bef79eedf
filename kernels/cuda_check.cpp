#include "kernels/cuda_check.h"

#include "core/base/error.h"

namespace moescope::kernels {

void check_cuda(cudaError_t result, const std::string& what) {
  if (result == cudaSuccess) return;
  std::string message =
      what + ": " + cudaGetErrorString(result) + " (" + cudaGetErrorName(result) + ")";
  if (result == cudaErrorMemoryAllocation) {
    message += "; use fewer tokens, a larger --scale, or the CPU backend";
  }
  throw Error(message);
}

void check_cublas(cublasStatus_t result, const std::string& what) {
  if (result == CUBLAS_STATUS_SUCCESS) return;
  throw Error(what + ": cuBLAS " + cublasGetStatusName(result) + " (" +
              cublasGetStatusString(result) + ")");
}

}  // namespace moescope::kernels
