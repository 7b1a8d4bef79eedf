#include "kernels/cuda_device.h"

#include <cuda_runtime.h>

#include "core/base/error.h"
#include "kernels/cuda_check.h"

namespace moescope::kernels {

namespace {

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

}  // namespace

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

std::string describe_cuda_devices() {
  const int count = cuda_device_count();
  if (count == 0) {
    try {
      select_cuda_device(0);  // says why there is none
    } catch (const Error& e) {
      return std::string("CUDA: ") + e.what();
    }
  }
  std::string out;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    out += (out.empty() ? "" : ", ") + std::string("GPU ") + std::to_string(i) + ": " + prop.name;
  }
  return out;
}

CudaDevice select_cuda_device(int index) {
  int count = 0;
  const cudaError_t result = cudaGetDeviceCount(&count);
  if (result == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    int driver = 0;
    cudaDriverGetVersion(&driver);
    if (driver == 0) {
      throw Error(
          "no NVIDIA driver found (libcuda.so.1 is not loadable), so no GPU can be used; "
          "use --backend cpu (or auto)");
    }
    throw Error("the NVIDIA driver is too old for the CUDA backend: it supports CUDA " +
                cuda_version_text(driver) + ", this build needs CUDA " +
                cuda_version_text(CUDART_VERSION) + "; update the driver or use --backend cpu");
  }
  if (result == cudaErrorNoDevice || (result == cudaSuccess && count == 0)) {
    cudaGetLastError();
    throw Error("no CUDA GPU found; use --backend cpu (or auto)");
  }
  check_cuda(result, "looking for CUDA GPUs");
  if (index < 0 || index >= count) {
    throw Error("GPU " + std::to_string(index) + " does not exist: this machine has " +
                std::to_string(count) + " (0.." + std::to_string(count - 1) + ")");
  }
  check_cuda(cudaSetDevice(index), "selecting GPU " + std::to_string(index));
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, index), "reading GPU " + std::to_string(index));
  return {index, prop.name, prop.major, prop.minor, prop.totalGlobalMem};
}

}  // namespace moescope::kernels
