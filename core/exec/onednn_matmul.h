// Matrix products through oneDNN's matmul: the library PyTorch uses on CPUs. Its kernels are
// generated for the instruction sets the CPU has (AVX2, AVX-512, AVX-512 BF16, AMX), so the
// choice follows the CPU's features, and at the 16-256 rows an expert gets it stays within reach
// of the dense rate where OpenBLAS's sgemm reaches half of it (README, dependency notes).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "core/exec/cpu_precision.h"

namespace moescope {

// What an expert's products do after the product itself.
enum class AfterProduct {
  kNothing,
  kSilu,        // out = silu(x . w^T)
  kMultiplyBy,  // out = (x . w^T) * other, element by element; `other` is fp32 [m, n]
};

// One product's shape: out[m, n] = x[m, k] . w[n, k]^T, then `after`. x and w are in
// `precision` (bf16 as its 16-bit patterns), x's rows x_ld elements apart, w dense; out is fp32
// unless out_bf16, its rows out_ld apart.
struct ProductShape {
  CpuPrecision precision = CpuPrecision::kFp32;
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t x_ld = 0, out_ld = 0;
  bool out_bf16 = false;
  AfterProduct after = AfterProduct::kNothing;

  auto operator<=>(const ProductShape&) const = default;
};

class OnednnMatmul {
 public:
  OnednnMatmul();

  // Generates the code of a product of this shape, unless it is there (about 0.1 ms): callers do
  // it before they start their clocks, so that timings hold computing only. Each shape holds
  // 50-100 KB; past kMaxProducts shapes, the least recently used quarter is dropped.
  void prepare(const ProductShape& shape);
  // Computes the product (prepared first when it is not); `other` is the fp32 [m, n] operand of
  // AfterProduct::kMultiplyBy.
  void multiply(const ProductShape& shape, const void* x, const void* w, void* out,
                const float* other = nullptr);
  // Makes room for `shapes` more products, dropping the least recently used: before a layer's
  // products are prepared, so that none of them is dropped while the layer runs.
  void make_room(std::size_t shapes);

  static constexpr std::size_t kMaxProducts = 1024;

  std::size_t prepared() const { return products_.size(); }
  bool is_prepared(const ProductShape& shape) const { return products_.contains(shape); }

  // oneDNN's name for the kernels of a product in this precision: "brg:avx512_core_bf16".
  static std::string kernels(CpuPrecision precision);

 private:
  dnnl::stream stream_;
  struct Prepared {
    dnnl::matmul product;
    dnnl::memory::desc x, w, out, other;  // the operands' layouts, made once with the product
    std::uint64_t last_use = 0;
  };
  // The shape's product, generated when it is not there, marked as used now.
  Prepared& prepared(const ProductShape& shape);
  std::map<ProductShape, Prepared> products_;
  std::uint64_t uses_ = 0;
};

// The CPU engine every product runs on.
const dnnl::engine& cpu_engine();

// Threads oneDNN computes a product with (its OpenMP threads).
int onednn_threads();
// Sets them, for the calling thread and the threads it starts later (OpenMP's rule).
void set_onednn_threads(int threads);

// oneDNN's name for the widest instruction set it uses on this CPU: "avx512_core_bf16".
std::string onednn_isa();

// The oneDNN library loaded: "2.6.3".
std::string onednn_version();

}  // namespace moescope
