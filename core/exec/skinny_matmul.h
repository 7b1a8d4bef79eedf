// out[r][j] = sum_h w[j][h] * x[r][h] for a handful of rows r: the shape of an MoE expert that
// received a few tokens. A BLAS sgemm spends such calls packing the weights; this reads every
// weight row once, applies it to all rows, and splits the output columns across threads, so
// the product runs at memory bandwidth.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moescope {

// The most rows the skinny path takes; above it, sgemm is the faster choice. Rows go through
// the kernel in groups of kSkinnyGroupRows (its accumulators fill the vector registers), so
// 9 to 16 rows read the weights twice: still faster than sgemm packing them.
constexpr int kSkinnyGroupRows = 8;
constexpr int kSkinnyMaxRows = 16;

// x: [rows, k] with row stride ldx; w: [n, k] contiguous; out: [rows, n] with row stride ldo.
// `threads` workers share the n output columns.
void skinny_matmul(const float* x, std::size_t ldx, int rows, int k, const float* w, int n,
                   float* out, std::size_t ldo, int threads);

// The same with x and w in bf16 (16-bit patterns) and fp32 sums: the AVX-512 BF16 dot product
// where the CPU has it, a plain loop elsewhere.
void skinny_matmul_bf16(const std::uint16_t* x, std::size_t ldx, int rows, int k,
                        const std::uint16_t* w, int n, float* out, std::size_t ldo, int threads);

}  // namespace moescope
