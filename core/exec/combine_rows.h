// The combine's arithmetic, one definition for a whole layer (cpu_backend.cpp) and for ranks
// (core/ranks/): both must add in the same way to give the same bits.
#pragma once

#include <cstddef>

namespace moescope {

// dst += weight * src, element by element.
inline void add_scaled_row(float* dst, float weight, const float* src, std::size_t n) {
  for (std::size_t h = 0; h < n; ++h)
    dst[h] += weight * src[h];
}

// dst += src, element by element.
inline void add_row(float* dst, const float* src, std::size_t n) {
  for (std::size_t h = 0; h < n; ++h)
    dst[h] += src[h];
}

}  // namespace moescope
