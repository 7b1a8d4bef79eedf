// The instruction sets this CPU and its operating system let a program use. The BLAS kernels are
// chosen from these, not from the CPU's model number: a library older than the CPU does not know
// its model, but it knows the instructions.
#pragma once

#include <string>
#include <string_view>

namespace moescope {

struct CpuFeatures {
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512dq = false;
  bool avx512vl = false;
  bool avx512cd = false;
  bool avx512_bf16 = false;
};

// What this CPU offers (cpuid, with the operating system's consent for the wide registers).
CpuFeatures detect_cpu_features();

// "avx2 fma avx512f ..." for the run's machine line and error messages; "sse only" when none.
std::string describe(const CpuFeatures& features);

// The OpenBLAS kernels that use the widest instructions these features allow: "Cooperlake"
// (AVX-512 with BF16), "SkylakeX" (AVX-512), "Haswell" (AVX2 and FMA), "Sandybridge" (AVX); empty
// where none of them can run, and OpenBLAS's own choice stands.
std::string openblas_kernels_for(const CpuFeatures& features);

// Whether OpenBLAS kernels of this name use no more than SSE: the generic fallback that an
// OpenBLAS older than the CPU picks ("Prescott", "Nehalem", "Core2", ...).
bool is_generic_openblas_kernels(std::string_view name);

}  // namespace moescope
