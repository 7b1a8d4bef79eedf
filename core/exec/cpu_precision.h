// The precision of the CPU backend's expert weights and activations. Products always accumulate
// in fp32; bf16 halves the bytes read and doubles the products per instruction where the CPU has
// BF16 instructions, as real checkpoints are stored.
#pragma once

#include <string>

namespace moescope {

enum class CpuPrecision { kFp32, kBf16 };

inline std::string precision_name(CpuPrecision p) {
  return p == CpuPrecision::kFp32 ? "fp32" : "bf16";
}

}  // namespace moescope
