// The BLAS with kernels chosen from the CPU's features: the choice by hand-made feature sets, the
// detection against the kernel's own view of the CPU, and the products against a plain loop.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/blas.h"
#include "core/base/cpu_features.h"
#include "core/base/random.h"

namespace moescope {
namespace {

CpuFeatures skylake_x() {
  CpuFeatures f;
  f.avx = f.avx2 = f.fma = true;
  f.avx512f = f.avx512bw = f.avx512dq = f.avx512vl = f.avx512cd = true;
  return f;
}

TEST(CpuFeatures, KernelsFollowTheWidestInstructions) {
  CpuFeatures none;
  EXPECT_EQ(openblas_kernels_for(none), "");

  CpuFeatures avx;
  avx.avx = true;
  EXPECT_EQ(openblas_kernels_for(avx), "Sandybridge");

  CpuFeatures avx2 = avx;
  avx2.avx2 = true;
  EXPECT_EQ(openblas_kernels_for(avx2), "Sandybridge") << "AVX2 kernels need FMA too";
  avx2.fma = true;
  EXPECT_EQ(openblas_kernels_for(avx2), "Haswell");

  CpuFeatures avx512 = skylake_x();
  EXPECT_EQ(openblas_kernels_for(avx512), "SkylakeX");
  avx512.avx512_bf16 = true;
  EXPECT_EQ(openblas_kernels_for(avx512), "Cooperlake");

  // A partial AVX-512 (the first Xeon Phi had no BW, DQ, VL) runs the AVX2 kernels.
  CpuFeatures phi = skylake_x();
  phi.avx512bw = phi.avx512dq = phi.avx512vl = false;
  EXPECT_EQ(openblas_kernels_for(phi), "Haswell");
}

TEST(CpuFeatures, GenericKernelsAreThoseOlderThanAvx) {
  for (const char* name : {"Prescott", "PRESCOTT", "Nehalem", "Core2", "Penryn", "Barcelona"}) {
    EXPECT_TRUE(is_generic_openblas_kernels(name)) << name;
  }
  for (const char* name : {"Haswell", "SkylakeX", "Cooperlake", "Zen", "Sandybridge", ""}) {
    EXPECT_FALSE(is_generic_openblas_kernels(name)) << name;
  }
}

// The flags line of /proc/cpuinfo: the kernel's view of the same cpuid bits.
std::optional<std::string> proc_cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) return " " + line.substr(line.find(':') + 1) + " ";
  }
  return std::nullopt;
}

TEST(CpuFeatures, DetectionAgreesWithTheKernel) {
  const auto flags = proc_cpu_flags();
  if (!flags) GTEST_SKIP() << "/proc/cpuinfo has no flags line on this machine";
  const CpuFeatures f = detect_cpu_features();
  auto has = [&](const char* flag) {
    return flags->find(" " + std::string(flag) + " ") != std::string::npos;
  };
  EXPECT_EQ(f.avx, has("avx"));
  EXPECT_EQ(f.avx2, has("avx2"));
  EXPECT_EQ(f.fma, has("fma"));
  EXPECT_EQ(f.avx512f, has("avx512f"));
  EXPECT_EQ(f.avx512bw, has("avx512bw"));
  EXPECT_EQ(f.avx512vl, has("avx512vl"));
  EXPECT_EQ(f.avx512_bf16, has("avx512_bf16"));
}

TEST(Blas, KernelsAreNotAGenericFallbackWhereTheCpuHasAvx2) {
  const CpuFeatures f = detect_cpu_features();
  if (!f.avx2 || !f.fma) GTEST_SKIP() << "this CPU has no AVX2 and FMA: " << describe(f);
  const char* forced = std::getenv("MOESCOPE_BLAS_KERNELS");
  if (forced != nullptr && *forced != '\0' && std::string(forced) != "auto") {
    GTEST_SKIP() << "MOESCOPE_BLAS_KERNELS=" << forced << " chooses the kernels in this run";
  }
  const blas::Kernels& k = blas::kernels();
  EXPECT_FALSE(is_generic_openblas_kernels(k.name)) << k.name << ": " << k.reason;
  EXPECT_EQ(k.name, openblas_kernels_for(f)) << k.reason;
  EXPECT_GE(k.threads, 1);
  EXPECT_NE(k.library.find("OpenBLAS"), std::string::npos) << k.library;
}

TEST(Blas, LoadingLeavesTheEnvironmentAsItWas) {
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::optional<std::string> expected =
      before != nullptr ? std::optional<std::string>(before) : std::nullopt;
  blas::kernels();
  const char* after = std::getenv("OPENBLAS_CORETYPE");
  EXPECT_EQ(after != nullptr ? std::optional<std::string>(after) : std::nullopt, expected);
}

TEST(Blas, MultiplyTransposedMatchesAPlainLoop) {
  // Sizes that are no multiple of any kernel's block, and leading dimensions wider than the rows.
  const int m = 37, n = 29, k = 53, lda = 60, ldb = 57, ldc = 31;
  Rng rng({7, 1});
  std::vector<float> a(static_cast<std::size_t>(m) * lda), b(static_cast<std::size_t>(n) * ldb);
  for (auto& v : a)
    v = static_cast<float>(rng.normal());
  for (auto& v : b)
    v = static_cast<float>(rng.normal());
  for (const float beta : {0.0f, 1.0f}) {
    std::vector<float> c(static_cast<std::size_t>(m) * ldc, 0.5f);
    blas::multiply_transposed(m, n, k, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    for (int i = 0; i < m; ++i) {
      for (int j = 0; j < n; ++j) {
        double expected = beta * 0.5;
        for (int p = 0; p < k; ++p) {
          expected += static_cast<double>(a[static_cast<std::size_t>(i) * lda + p]) *
                      b[static_cast<std::size_t>(j) * ldb + p];
        }
        ASSERT_NEAR(c[static_cast<std::size_t>(i) * ldc + j], expected, 1e-4)
            << "c[" << i << "][" << j << "] with beta " << beta;
      }
      // The columns past n belong to the caller.
      for (int j = n; j < ldc; ++j)
        ASSERT_EQ(c[static_cast<std::size_t>(i) * ldc + j], 0.5f);
    }
  }
}

}  // namespace
}  // namespace moescope
