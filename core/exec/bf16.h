// bfloat16: the top 16 bits of an fp32, as checkpoints store weights. Conversions round to
// nearest even and keep NaN a NaN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace moescope {

inline std::uint16_t to_bf16(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu) != 0) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // a quiet NaN stays NaN
  }
  const std::uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline float from_bf16(std::uint16_t value) {
  const std::uint32_t bits = static_cast<std::uint32_t>(value) << 16;
  float out = 0.0f;
  std::memcpy(&out, &bits, sizeof out);
  return out;
}

// out[i] = to_bf16(in[i]) for n values, on `threads` threads.
void convert_to_bf16(const float* in, std::size_t n, std::uint16_t* out, int threads);

}  // namespace moescope
