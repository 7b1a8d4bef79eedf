#include "kernels/cuda_options.h"

#include <sstream>

#include "core/base/error.h"

namespace moescope::kernels {

CudaBackendOptions parse_cuda_options(const std::string& options, GemmMode mode) {
  CudaBackendOptions out;
  out.mode = mode;
  std::stringstream in(options);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) {
      throw Error("an empty CUDA backend option in '" + options +
                  "' (separate options with single commas)");
    }
    if (item == "fp32") {
      out.precision = Precision::kFp32;
    } else if (item == "bf16") {
      out.precision = Precision::kBf16;
    } else if (item == "events") {
      out.use_cupti = false;
    } else if (item == "host-routing") {
      out.gpu_routing = false;
    } else if (item.rfind("gpu=", 0) == 0) {
      const std::string number = item.substr(4);
      std::size_t used = 0;
      int gpu = -1;
      try {
        gpu = std::stoi(number, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (number.empty() || used != number.size() || gpu < 0) {
        throw Error("CUDA backend option '" + item + "': the GPU must be a number, e.g. gpu=0");
      }
      out.gpu = gpu;
    } else {
      throw Error("unknown CUDA backend option '" + item +
                  "' (expected fp32, bf16, gpu=N, events or host-routing)");
    }
  }
  return out;
}

}  // namespace moescope::kernels
