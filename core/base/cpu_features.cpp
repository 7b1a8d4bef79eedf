#include "core/base/cpu_features.h"

#include <algorithm>
#include <cctype>
#include <iterator>

namespace moescope {

CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  // libgcc reads cpuid and, for AVX and AVX-512, whether the OS saves those registers (XCR0).
  __builtin_cpu_init();
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512cd = __builtin_cpu_supports("avx512cd");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
#endif
  return f;
}

std::string describe(const CpuFeatures& f) {
  std::string out;
  auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(f.avx, "avx");
  add(f.avx2, "avx2");
  add(f.fma, "fma");
  add(f.avx512f, "avx512f");
  add(f.avx512bw, "avx512bw");
  add(f.avx512dq, "avx512dq");
  add(f.avx512vl, "avx512vl");
  add(f.avx512cd, "avx512cd");
  add(f.avx512_bf16, "avx512_bf16");
  return out.empty() ? "sse only" : out;
}

std::string openblas_kernels_for(const CpuFeatures& f) {
  // What each of OpenBLAS's x86-64 kernel sets needs (its driver/others/dynamic.c checks the same).
  const bool skylake_x =
      f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx512cd && f.avx2 && f.fma;
  if (skylake_x && f.avx512_bf16) return "Cooperlake";
  if (skylake_x) return "SkylakeX";
  if (f.avx2 && f.fma) return "Haswell";
  if (f.avx) return "Sandybridge";
  return "";
}

bool is_generic_openblas_kernels(std::string_view name) {
  // OpenBLAS's x86-64 kernel sets older than AVX.
  static constexpr std::string_view kGeneric[] = {
      "prescott", "katmai",       "coppermine", "northwood", "banias", "athlon",
      "core2",    "penryn",       "dunnington", "nehalem",   "atom",   "nano",
      "opteron",  "opteron_sse3", "barcelona",  "bobcat"};
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::ranges::find(kGeneric, lower) != std::end(kGeneric);
}

}  // namespace moescope
