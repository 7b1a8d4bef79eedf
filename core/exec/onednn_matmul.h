// Matrix products through oneDNN's matmul: the library PyTorch uses on CPUs. Its kernels are
// generated for the instruction sets the CPU has (AVX2, AVX-512, AVX-512 BF16, AMX), so the
// choice follows the CPU's features, and at the 16-256 rows an expert gets it stays within reach
// of the dense rate where OpenBLAS's sgemm reaches half of it (README, dependency notes).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "core/exec/cpu_precision.h"

namespace moescope {

// What an expert's products do after the product itself.
enum class AfterProduct {
  kNothing,
  kSilu,        // out = silu(x . w^T)
  kMultiplyBy,  // out = (x . w^T) * other, element by element; `other` is fp32 [m, n]
};

class OnednnMatmul {
 public:
  OnednnMatmul();

  // out[m, n] = x[m, k] . w[n, k]^T, then `after`. x and w are in `precision` (bf16 as its 16-bit
  // patterns), x's rows x_ld elements apart, w dense; out is fp32 unless out_bf16, rows out_ld
  // apart. Products of each shape are prepared once and reused.
  void multiply(CpuPrecision precision, std::int64_t m, std::int64_t n, std::int64_t k,
                const void* x, std::int64_t x_ld, const void* w, void* out, std::int64_t out_ld,
                bool out_bf16 = false, AfterProduct after = AfterProduct::kNothing,
                const float* other = nullptr);

  // oneDNN's name for the kernels of a product in this precision: "brg:avx512_core_bf16".
  static std::string kernels(CpuPrecision precision);

 private:
  using Key = std::tuple<int, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                         bool, int>;
  dnnl::matmul& product(const Key& key, dnnl::memory::desc& x_md, dnnl::memory::desc& w_md,
                        dnnl::memory::desc& out_md, dnnl::memory::desc& other_md);

  dnnl::stream stream_;
  std::map<Key, dnnl::matmul> products_;
};

// The CPU engine every product runs on.
const dnnl::engine& cpu_engine();

// Threads oneDNN computes a product with (its OpenMP threads).
int onednn_threads();

// oneDNN's name for the widest instruction set it uses on this CPU: "avx512_core_bf16".
std::string onednn_isa();

// The oneDNN library loaded: "2.6.3".
std::string onednn_version();

}  // namespace moescope
