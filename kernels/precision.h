// The number format of weights and activations on the GPU (accumulation is always fp32). A
// header of its own so that code without the CUDA toolkit's headers can name it.
#pragma once

#include <cstddef>

namespace moescope::kernels {

enum class Precision { kFp32, kBf16 };

inline std::size_t element_bytes(Precision p) {
  return p == Precision::kFp32 ? 4 : 2;
}

inline std::size_t bytes_of(std::size_t elements, Precision p) {
  return elements * element_bytes(p);
}

}  // namespace moescope::kernels
