// A well-mixed 64-bit hash (SplitMix64's finalizer): the seeded generator of the synthetic
// inputs and the random drop priority both draw from it, on the host and on the GPU.
#pragma once

#include <cstdint>

#include "core/base/host_device.h"

namespace moescope {

MOESCOPE_HD inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace moescope
