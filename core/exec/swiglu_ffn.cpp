#include "core/exec/swiglu_ffn.h"

#include <algorithm>
#include <cmath>

#include "core/base/blas.h"
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

// act = activation(gate + b_gate, up + b_up), in place in the gate half of each [2F] row; bf16
// copies [rows, F] into `packed` too when it is not null.
void activate(float* scratch, std::size_t rows, std::size_t F, const FfnActivation& a,
              std::uint16_t* packed, int threads) {
  parallel_for(
      static_cast<std::int64_t>(rows), threads, 4, [=](std::int64_t begin, std::int64_t end) {
        const ExpertMlp& m = a.mlp;
        const auto alpha = static_cast<float>(m.swiglu_alpha);
        const auto limit = static_cast<float>(m.swiglu_limit);
        for (auto r = static_cast<std::size_t>(begin); r < static_cast<std::size_t>(end); ++r) {
          float* row = scratch + r * 2 * F;
          for (std::size_t f = 0; f < F; ++f) {
            float g = row[f], u = row[F + f];
            if (a.gate_up_bias != nullptr) {
              g += a.gate_up_bias[f];
              u += a.gate_up_bias[F + f];
            }
            row[f] =
                m.clamped() ? clamped_swiglu(g, u, alpha, limit) : g / (1.0f + std::exp(-g)) * u;
            if (packed != nullptr) packed[r * F + f] = to_bf16(row[f]);
          }
        }
      });
}

}  // namespace

FfnKernels choose_ffn_kernels(CpuPrecision precision, std::int64_t rows, std::int64_t experts,
                              std::uint64_t weight_bytes) {
  if (rows <= experts * kSkinnyMaxRows) return FfnKernels::kSkinnyFewRows;
  if (precision == CpuPrecision::kFp32 && weight_bytes <= kSmallExpertBytes) {
    return FfnKernels::kBlas;
  }
  return FfnKernels::kOnednn;
}

void SwigluFfn::run_blas(const float* x, std::int64_t rows, const float* gate_up, const float* down,
                         int ffn, int hidden, float* y) {
  const auto F = static_cast<std::size_t>(ffn);
  const auto H = static_cast<std::size_t>(hidden);
  const auto block = static_cast<std::size_t>(std::min(rows, kRowBlock));
  gate_.resize(block * 2 * F);
  for (std::int64_t first = 0; first < rows; first += kRowBlock) {
    const auto n = static_cast<int>(std::min(kRowBlock, rows - first));
    const float* xb = x + static_cast<std::size_t>(first) * H;
    float* yb = y + static_cast<std::size_t>(first) * H;
    // [n, 2F] = x . gate_up^T: the gate in columns 0..F-1, up in F..2F-1.
    blas::multiply_transposed(n, 2 * ffn, hidden, xb, hidden, gate_up, hidden, 0.0f, gate_.data(),
                              2 * ffn);
    silu_times_up(gate_.data(), static_cast<std::size_t>(n), F, blas::threads());
    // y = act . down^T, reading act in place with a stride of 2F.
    blas::multiply_transposed(n, hidden, ffn, gate_.data(), 2 * ffn, down, ffn, 0.0f, yb, hidden);
  }
}

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

bool takes_skinny(std::int64_t rows, FfnKernels kernels) {
  return kernels == FfnKernels::kSkinnyFewRows && rows <= kSkinnyMaxRows;
}

// The general path's two products through oneDNN: [n, 2F] in fp32, then the down projection
// reading the activation in place (fp32, rows 2F apart) or packed (bf16).
ProductShape general_up(CpuPrecision precision, std::int64_t n, int ffn, int hidden) {
  return {precision, n, 2 * ffn, hidden, hidden, 2 * ffn, false, AfterProduct::kNothing};
}
ProductShape general_down(CpuPrecision precision, std::int64_t n, int ffn, int hidden) {
  const std::int64_t x_ld = precision == CpuPrecision::kFp32 ? 2 * ffn : ffn;
  return {precision, n, hidden, ffn, x_ld, hidden, false, AfterProduct::kNothing};
}

}  // namespace

void SwigluFfn::run_general(CpuPrecision precision, const void* x, std::int64_t rows,
                            const void* gate_up, const void* down, int ffn, int hidden, float* y,
                            FfnKernels kernels, const FfnActivation& activation) {
  const auto F = static_cast<std::size_t>(ffn);
  const auto H = static_cast<std::size_t>(hidden);
  const bool fp32 = precision == CpuPrecision::kFp32;
  const bool blas = kernels == FfnKernels::kBlas && fp32;
  const bool skinny = takes_skinny(rows, kernels);
  // The skinny kernels read the weights once for all rows: one block.
  const std::int64_t block_rows = skinny ? rows : kRowBlock;
  const auto block = static_cast<std::size_t>(std::min(rows, block_rows));
  gate_.resize(block * 2 * F);
  if (!fp32) activation_.resize(block * F);  // bf16 uses its first half
  auto* packed = fp32 ? nullptr : reinterpret_cast<std::uint16_t*>(activation_.data());
  const int threads = blas ? blas::threads() : onednn_threads();
  for (std::int64_t first = 0; first < rows; first += block_rows) {
    const std::int64_t n = std::min(block_rows, rows - first);
    const void* xb = offset(x, static_cast<std::size_t>(first) * H, precision);
    float* yb = y + static_cast<std::size_t>(first) * H;
    const int ni = static_cast<int>(n);
    if (blas) {
      blas::multiply_transposed(ni, 2 * ffn, hidden, static_cast<const float*>(xb), hidden,
                                static_cast<const float*>(gate_up), hidden, 0.0f, gate_.data(),
                                2 * ffn);
    } else if (skinny && fp32) {
      skinny_matmul(static_cast<const float*>(xb), H, ni, hidden,
                    static_cast<const float*>(gate_up), 2 * ffn, gate_.data(), 2 * F, threads);
    } else if (skinny) {
      skinny_matmul_bf16(static_cast<const std::uint16_t*>(xb), H, ni, hidden,
                         static_cast<const std::uint16_t*>(gate_up), 2 * ffn, gate_.data(), 2 * F,
                         threads);
    } else {
      matmul_.multiply(general_up(precision, n, ffn, hidden), xb, gate_up, gate_.data());
    }
    activate(gate_.data(), static_cast<std::size_t>(n), F, activation, packed, threads);
    if (blas) {
      blas::multiply_transposed(ni, hidden, ffn, gate_.data(), 2 * ffn,
                                static_cast<const float*>(down), ffn, 0.0f, yb, hidden);
    } else if (skinny && fp32) {
      skinny_matmul(gate_.data(), 2 * F, ni, ffn, static_cast<const float*>(down), hidden, yb, H,
                    threads);
    } else if (skinny) {
      skinny_matmul_bf16(packed, F, ni, ffn, static_cast<const std::uint16_t*>(down), hidden, yb, H,
                         threads);
    } else {
      matmul_.multiply(general_down(precision, n, ffn, hidden),
                       fp32 ? static_cast<const void*>(gate_.data()) : packed, down, yb);
    }
    if (activation.down_bias != nullptr) {
      for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
        for (std::size_t h = 0; h < H; ++h)
          yb[r * H + h] += activation.down_bias[h];
      }
    }
  }
}

void SwigluFfn::prepare(CpuPrecision precision, std::int64_t rows, int ffn, int hidden,
                        FfnKernels kernels, const ExpertMlp& mlp) {
  if (rows <= 0 || kernels == FfnKernels::kBlas || takes_skinny(rows, kernels)) return;
  for (const std::int64_t n : {std::min(rows, kRowBlock), rows % kRowBlock}) {
    if (n == 0) continue;
    if (!mlp.plain()) {
      matmul_.prepare(general_up(precision, n, ffn, hidden));
      matmul_.prepare(general_down(precision, n, ffn, hidden));
      continue;
    }
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
                    const void* down, int ffn, int hidden, float* y, FfnKernels kernels,
                    const FfnActivation& activation) {
  if (!activation.mlp.plain()) {
    run_general(precision, x, rows, gate_up, down, ffn, hidden, y, kernels, activation);
    return;
  }
  if (kernels == FfnKernels::kBlas && precision == CpuPrecision::kFp32) {
    run_blas(static_cast<const float*>(x), rows, static_cast<const float*>(gate_up),
             static_cast<const float*>(down), ffn, hidden, y);
    return;
  }
  if (takes_skinny(rows, kernels)) {
    // A few rows are bound by reading the weights, which the skinny kernels read once.
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
