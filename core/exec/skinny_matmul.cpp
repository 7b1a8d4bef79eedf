#include "core/exec/skinny_matmul.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/exec/bf16.h"
#include "core/exec/parallel_for.h"

namespace moescope {

namespace {

using Kernel = void (*)(const float* x, std::size_t ldx, int rows, int k, const float* w, int j0,
                        int j1, float* out, std::size_t ldo);

void kernel_generic(const float* x, std::size_t ldx, int rows, int k, const float* w, int j0,
                    int j1, float* out, std::size_t ldo) {
  for (int j = j0; j < j1; ++j) {
    const float* wj = w + static_cast<std::size_t>(j) * static_cast<std::size_t>(k);
    float acc[kSkinnyGroupRows] = {};
    for (int h = 0; h < k; ++h) {
      for (int r = 0; r < rows; ++r)
        acc[r] += wj[h] * x[static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(h)];
    }
    for (int r = 0; r < rows; ++r)
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(j)] = acc[r];
  }
}

#if defined(__x86_64__)

// fn(std::integral_constant<int, R>{}) with R = rows, 1 to kSkinnyGroupRows: the kernels take the
// row count as a template parameter so that their accumulators live in registers.
template <typename Fn>
void with_row_count(int rows, Fn fn) {
  switch (rows) {
    case 1:
      return fn(std::integral_constant<int, 1>{});
    case 2:
      return fn(std::integral_constant<int, 2>{});
    case 3:
      return fn(std::integral_constant<int, 3>{});
    case 4:
      return fn(std::integral_constant<int, 4>{});
    case 5:
      return fn(std::integral_constant<int, 5>{});
    case 6:
      return fn(std::integral_constant<int, 6>{});
    case 7:
      return fn(std::integral_constant<int, 7>{});
    default:
      return fn(std::integral_constant<int, kSkinnyGroupRows>{});
  }
}

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_hadd_ps(s, s);
  s = _mm_hadd_ps(s, s);
  return _mm_cvtss_f32(s);
}

// The row count is a template parameter so that the accumulators live in registers.
template <int kRows>
__attribute__((target("avx2,fma"))) void kernel_avx2(const float* x, std::size_t ldx, int k,
                                                     const float* w, int j0, int j1, float* out,
                                                     std::size_t ldo) {
  for (int j = j0; j < j1; ++j) {
    const float* wj = w + static_cast<std::size_t>(j) * static_cast<std::size_t>(k);
    __m256 acc[kRows];
    for (int r = 0; r < kRows; ++r)
      acc[r] = _mm256_setzero_ps();
    int h = 0;
    for (; h + 8 <= k; h += 8) {
      const __m256 wv = _mm256_loadu_ps(wj + h);
      for (int r = 0; r < kRows; ++r) {
        acc[r] = _mm256_fmadd_ps(
            wv,
            _mm256_loadu_ps(x + static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(h)),
            acc[r]);
      }
    }
    for (int r = 0; r < kRows; ++r) {
      float sum = horizontal_sum(acc[r]);
      for (int t = h; t < k; ++t)
        sum += wj[t] * x[static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(t)];
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(j)] = sum;
    }
  }
}

void kernel_avx2_dispatch(const float* x, std::size_t ldx, int rows, int k, const float* w, int j0,
                          int j1, float* out, std::size_t ldo) {
  with_row_count(rows,
                 [&](auto r) { kernel_avx2<decltype(r)::value>(x, ldx, k, w, j0, j1, out, ldo); });
}

#endif

Kernel pick_kernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return kernel_avx2_dispatch;
#endif
  return kernel_generic;
}

using Bf16Kernel = void (*)(const std::uint16_t* x, std::size_t ldx, int rows, int k,
                            const std::uint16_t* w, int j0, int j1, float* out, std::size_t ldo);

void bf16_kernel_generic(const std::uint16_t* x, std::size_t ldx, int rows, int k,
                         const std::uint16_t* w, int j0, int j1, float* out, std::size_t ldo) {
  for (int j = j0; j < j1; ++j) {
    const std::uint16_t* wj = w + static_cast<std::size_t>(j) * static_cast<std::size_t>(k);
    float acc[kSkinnyGroupRows] = {};
    for (int h = 0; h < k; ++h) {
      const float wv = from_bf16(wj[h]);
      for (int r = 0; r < rows; ++r)
        acc[r] +=
            wv * from_bf16(x[static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(h)]);
    }
    for (int r = 0; r < rows; ++r)
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(j)] = acc[r];
  }
}

#if defined(__x86_64__)

// 32 bf16 pairs of weight and input per instruction (vdpbf16ps), 16 fp32 sums per row.
template <int kRows>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void bf16_kernel_avx512(
    const std::uint16_t* x, std::size_t ldx, int k, const std::uint16_t* w, int j0, int j1,
    float* out, std::size_t ldo) {
  for (int j = j0; j < j1; ++j) {
    const std::uint16_t* wj = w + static_cast<std::size_t>(j) * static_cast<std::size_t>(k);
    __m512 acc[kRows];
    for (int r = 0; r < kRows; ++r)
      acc[r] = _mm512_setzero_ps();
    int h = 0;
    for (; h + 32 <= k; h += 32) {
      const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(wj + h));
      for (int r = 0; r < kRows; ++r) {
        const __m512bh xv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(
            x + static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(h)));
        acc[r] = _mm512_dpbf16_ps(acc[r], wv, xv);
      }
    }
    for (int r = 0; r < kRows; ++r) {
      // Summed through memory: GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized.
      alignas(64) float lanes[16];
      _mm512_store_ps(lanes, acc[r]);
      float sum = 0.0f;
      for (const float lane : lanes)
        sum += lane;
      for (int t = h; t < k; ++t)
        sum += from_bf16(wj[t]) *
               from_bf16(x[static_cast<std::size_t>(r) * ldx + static_cast<std::size_t>(t)]);
      out[static_cast<std::size_t>(r) * ldo + static_cast<std::size_t>(j)] = sum;
    }
  }
}

void bf16_kernel_avx512_dispatch(const std::uint16_t* x, std::size_t ldx, int rows, int k,
                                 const std::uint16_t* w, int j0, int j1, float* out,
                                 std::size_t ldo) {
  with_row_count(rows, [&](auto r) {
    bf16_kernel_avx512<decltype(r)::value>(x, ldx, k, w, j0, j1, out, ldo);
  });
}

#endif

Bf16Kernel pick_bf16_kernel() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512bf16")) {
    return bf16_kernel_avx512_dispatch;
  }
#endif
  return bf16_kernel_generic;
}

// Below this many columns a thread costs more than it saves.
constexpr int kMinColumnsPerThread = 128;

}  // namespace

namespace {

void skinny_group(Kernel kernel, const float* x, std::size_t ldx, int rows, int k, const float* w,
                  int n, float* out, std::size_t ldo, int threads) {
  threads = std::clamp(std::min(threads, n / kMinColumnsPerThread), 1, 64);
  if (threads == 1) {
    kernel(x, ldx, rows, k, w, 0, n, out, ldo);
    return;
  }
  parallel_for(n, threads, kMinColumnsPerThread, [&](std::int64_t j0, std::int64_t j1) {
    kernel(x, ldx, rows, k, w, static_cast<int>(j0), static_cast<int>(j1), out, ldo);
  });
}

}  // namespace

void skinny_matmul(const float* x, std::size_t ldx, int rows, int k, const float* w, int n,
                   float* out, std::size_t ldo, int threads) {
  static const Kernel kernel = pick_kernel();
  for (int first = 0; first < rows; first += kSkinnyGroupRows) {
    const int group = std::min(kSkinnyGroupRows, rows - first);
    skinny_group(kernel, x + static_cast<std::size_t>(first) * ldx, ldx, group, k, w, n,
                 out + static_cast<std::size_t>(first) * ldo, ldo, threads);
  }
}

void skinny_matmul_bf16(const std::uint16_t* x, std::size_t ldx, int rows, int k,
                        const std::uint16_t* w, int n, float* out, std::size_t ldo, int threads) {
  static const Bf16Kernel kernel = pick_bf16_kernel();
  threads = std::clamp(std::min(threads, n / kMinColumnsPerThread), 1, 64);
  for (int first = 0; first < rows; first += kSkinnyGroupRows) {
    const int group = std::min(kSkinnyGroupRows, rows - first);
    const std::uint16_t* xg = x + static_cast<std::size_t>(first) * ldx;
    float* og = out + static_cast<std::size_t>(first) * ldo;
    parallel_for(n, threads, kMinColumnsPerThread, [&](std::int64_t j0, std::int64_t j1) {
      kernel(xg, ldx, group, k, w, static_cast<int>(j0), static_cast<int>(j1), og, ldo);
    });
  }
}

}  // namespace moescope
