#include "core/exec/swiglu_ffn.h"

#include <algorithm>
#include <cmath>

#include "core/exec/bf16.h"
#include "core/exec/onednn_matmul.h"
#include "core/exec/parallel_for.h"
#include "core/exec/skinny_matmul.h"

namespace moescope {

namespace {

// Large enough that the products stay compute-bound (oneDNN reaches 95% of its dense rate at 128
// rows), small enough that the row counts of a layer's blocks take at most 128 shapes of
// generated code per product (OnednnMatmul keeps 1024).
constexpr std::int64_t kRowBlock = 128;

std::size_t element_bytes(CpuPrecision p) {
  return p == CpuPrecision::kFp32 ? 4 : 2;
}

const char* offset(const void* base, std::size_t elements, CpuPrecision p) {
  return static_cast<const char*>(base) + elements * element_bytes(p);
}

// act = silu(gate) * up, in place in the gate half of each [2F] row.
void silu_times_up(float* scratch, std::size_t rows, std::size_t F, int threads) {
  parallel_for(
      static_cast<std::int64_t>(rows), threads, 16, [=](std::int64_t begin, std::int64_t end) {
        for (auto r = static_cast<std::size_t>(begin); r < static_cast<std::size_t>(end); ++r) {
          float* row = scratch + r * 2 * F;
          for (std::size_t f = 0; f < F; ++f) {
            const float g = row[f];
            row[f] = g / (1.0f + std::exp(-g)) * row[F + f];
          }
        }
      });
}

}  // namespace

void SwigluFfn::run_skinny(CpuPrecision precision, const void* x, std::int64_t rows,
                           const void* gate_up, const void* down, int ffn, int hidden, float* y) {
  const auto F = static_cast<std::size_t>(ffn);
  const auto H = static_cast<std::size_t>(hidden);
  const auto n = static_cast<int>(rows);
  const auto r = static_cast<std::size_t>(rows);
  const int threads = onednn_threads();
  gate_.resize(r * 2 * F);
  if (precision == CpuPrecision::kFp32) {
    skinny_matmul(static_cast<const float*>(x), H, n, hidden, static_cast<const float*>(gate_up),
                  2 * ffn, gate_.data(), 2 * F, threads);
    silu_times_up(gate_.data(), r, F, threads);
    skinny_matmul(gate_.data(), 2 * F, n, ffn, static_cast<const float*>(down), hidden, y, H,
                  threads);
    return;
  }
  skinny_matmul_bf16(static_cast<const std::uint16_t*>(x), H, n, hidden,
                     static_cast<const std::uint16_t*>(gate_up), 2 * ffn, gate_.data(), 2 * F,
                     threads);
  silu_times_up(gate_.data(), r, F, threads);
  activation_.resize(r * F);
  auto* act = reinterpret_cast<std::uint16_t*>(activation_.data());
  for (std::size_t i = 0; i < r; ++i) {
    for (std::size_t f = 0; f < F; ++f)
      act[i * F + f] = to_bf16(gate_[i * 2 * F + f]);
  }
  skinny_matmul_bf16(act, F, n, ffn, static_cast<const std::uint16_t*>(down), hidden, y, H,
                     threads);
}

namespace {

// The three products of a block of n rows: silu(x . W_gate^T), (x . W_up^T) * that, and the down
// projection of the result.
struct BlockProducts {
  ProductShape gate, up, down;
};

BlockProducts block_products(CpuPrecision precision, std::int64_t n, int ffn, int hidden) {
  BlockProducts p;
  p.gate = {precision, n, ffn, hidden, hidden, ffn, false, AfterProduct::kSilu};
  // In the precision of the down projection, which reads it next.
  p.up = {precision,
          n,
          ffn,
          hidden,
          hidden,
          ffn,
          precision == CpuPrecision::kBf16,
          AfterProduct::kMultiplyBy};
  p.down = {precision, n, hidden, ffn, ffn, hidden, false, AfterProduct::kNothing};
  return p;
}

bool takes_skinny(std::int64_t rows, bool skinny) {
  return skinny && rows <= kSkinnyMaxRows;
}

}  // namespace

void SwigluFfn::prepare(CpuPrecision precision, std::int64_t rows, int ffn, int hidden,
                        bool skinny) {
  if (rows <= 0 || takes_skinny(rows, skinny)) return;
  for (const std::int64_t n : {std::min(rows, kRowBlock), rows % kRowBlock}) {
    if (n == 0) continue;
    const BlockProducts p = block_products(precision, n, ffn, hidden);
    matmul_.prepare(p.gate);
    matmul_.prepare(p.up);
    matmul_.prepare(p.down);
  }
}

void SwigluFfn::make_room(int experts) {
  // Three products per block, and at most two block sizes per expert.
  matmul_.make_room(static_cast<std::size_t>(experts) * 6);
}

void SwigluFfn::run(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
                    const void* down, int ffn, int hidden, float* y, bool skinny) {
  if (takes_skinny(rows, skinny)) {
    // A few rows are bound by reading the weights; the skinny kernels read them once.
    run_skinny(precision, x, rows, gate_up, down, ffn, hidden, y);
    return;
  }
  const auto F = static_cast<std::size_t>(ffn);
  const auto H = static_cast<std::size_t>(hidden);
  const auto block = static_cast<std::size_t>(std::min(rows, kRowBlock));
  gate_.resize(block * F);
  activation_.resize(block * F);  // bf16 uses its first half
  const void* up_weights = offset(gate_up, F * H, precision);
  for (std::int64_t first = 0; first < rows; first += kRowBlock) {
    const std::int64_t n = std::min(kRowBlock, rows - first);
    const void* xb = offset(x, static_cast<std::size_t>(first) * H, precision);
    float* yb = y + static_cast<std::size_t>(first) * H;
    const BlockProducts p = block_products(precision, n, ffn, hidden);
    matmul_.multiply(p.gate, xb, gate_up, gate_.data());
    matmul_.multiply(p.up, xb, up_weights, activation_.data(), gate_.data());
    matmul_.multiply(p.down, activation_.data(), down, yb);
  }
}

void swiglu_ffn(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y) {
  thread_local SwigluFfn ffn_of_thread;
  ffn_of_thread.run(CpuPrecision::kFp32, x, rows, gate_up, down, ffn, hidden, y);
}

}  // namespace moescope
