#include <cuda_bf16.h>

#include "kernels/layer_kernels.h"

namespace moescope::kernels {

namespace {

constexpr int kThreads = 256;
// Enough blocks to fill an H100 several times over; the loops stride over the rest.
constexpr std::int64_t kMaxBlocks = 4096;

int blocks_for(std::int64_t n) {
  const std::int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

__device__ inline float load(const float* p, std::int64_t i) {
  return p[i];
}
__device__ inline float load(const __nv_bfloat16* p, std::int64_t i) {
  return __bfloat162float(p[i]);
}
__device__ inline void store(float* p, std::int64_t i, float v) {
  p[i] = v;
}
__device__ inline void store(__nv_bfloat16* p, std::int64_t i, float v) {
  p[i] = __float2bfloat16_rn(v);
}

template <typename T>
__global__ void convert_kernel(const float* in, std::int64_t n, T* out) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    store(out, i, in[i]);
  }
}

template <typename T>
__global__ void gather_kernel(const float* x, const std::int64_t* row_token, std::int64_t rows,
                              int hidden, T* out) {
  const std::int64_t n = rows * hidden;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / hidden;
    const std::int64_t h = i - r * hidden;
    store(out, i, x[row_token[r] * hidden + h]);
  }
}

template <typename T>
__global__ void swiglu_kernel(const T* gate_up, std::int64_t rows, int ffn, T* act) {
  const std::int64_t n = rows * ffn;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t r = i / ffn;
    const std::int64_t f = i - r * ffn;
    const float g = load(gate_up, r * 2 * ffn + f);
    const float u = load(gate_up, r * 2 * ffn + ffn + f);
    store(act, i, g / (1.0f + expf(-g)) * u);
  }
}

// One block per token; a fixed-shape tree reduction, so the result does not vary run to run.
__global__ void shared_gate_kernel(const float* x, const float* gate, int hidden, float* scale) {
  __shared__ float partial[kThreads];
  const std::int64_t t = blockIdx.x;
  float sum = 0.0f;
  for (int h = threadIdx.x; h < hidden; h += blockDim.x)
    sum += gate[h] * x[t * hidden + h];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = blockDim.x / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) scale[t] = 1.0f / (1.0f + expf(-partial[0]));
}

template <typename T>
__global__ void accumulate_kernel(const T* out, const float* scale, std::int64_t tokens, int hidden,
                                  float* acc) {
  const std::int64_t n = tokens * hidden;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const float s = scale != nullptr ? scale[i / hidden] : 1.0f;
    acc[i] += s * load(out, i);
  }
}

template <typename T>
__global__ void combine_kernel(const T* expert_out, const std::int64_t* pair_row,
                               const float* pair_weight, const std::int64_t* token_pairs,
                               const float* base, int hidden, float* y) {
  const std::int64_t t = blockIdx.x;
  const std::int64_t first = token_pairs[t];
  const std::int64_t last = token_pairs[t + 1];
  for (int h = threadIdx.x; h < hidden; h += blockDim.x) {
    float sum = base != nullptr ? base[t * hidden + h] : 0.0f;
    for (std::int64_t i = first; i < last; ++i)
      sum += pair_weight[i] * load(expert_out, pair_row[i] * hidden + h);
    y[t * hidden + h] = sum;
  }
}

}  // namespace

void convert_from_fp32(const float* in, std::int64_t n, Precision to, void* out,
                       cudaStream_t stream) {
  if (n == 0) return;
  if (to == Precision::kFp32) {
    // A failure is kept as the runtime's last error, which the backend checks after launching.
    (void)cudaMemcpyAsync(out, in, static_cast<std::size_t>(n) * sizeof(float),
                          cudaMemcpyDeviceToDevice, stream);
    return;
  }
  convert_kernel<<<blocks_for(n), kThreads, 0, stream>>>(in, n, static_cast<__nv_bfloat16*>(out));
}

void gather_rows(const float* x, const std::int64_t* row_token, std::int64_t rows, int hidden,
                 Precision p, void* out, cudaStream_t stream) {
  const std::int64_t n = rows * hidden;
  if (n == 0) return;
  if (p == Precision::kFp32) {
    gather_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, row_token, rows, hidden,
                                                          static_cast<float*>(out));
  } else {
    gather_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, row_token, rows, hidden,
                                                          static_cast<__nv_bfloat16*>(out));
  }
}

void swiglu_rows(const void* gate_up, std::int64_t rows, int ffn, Precision p, void* act,
                 cudaStream_t stream) {
  const std::int64_t n = rows * ffn;
  if (n == 0) return;
  if (p == Precision::kFp32) {
    swiglu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const float*>(gate_up), rows,
                                                          ffn, static_cast<float*>(act));
  } else {
    swiglu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(gate_up), rows, ffn, static_cast<__nv_bfloat16*>(act));
  }
}

void shared_gate_scale(const float* x, const float* gate, std::int64_t tokens, int hidden,
                       float* scale, cudaStream_t stream) {
  if (tokens == 0) return;
  shared_gate_kernel<<<static_cast<unsigned>(tokens), kThreads, 0, stream>>>(x, gate, hidden,
                                                                             scale);
}

void accumulate_rows(const void* out, const float* scale, std::int64_t tokens, int hidden,
                     Precision p, float* acc, cudaStream_t stream) {
  const std::int64_t n = tokens * hidden;
  if (n == 0) return;
  if (p == Precision::kFp32) {
    accumulate_kernel<<<blocks_for(n), kThreads, 0, stream>>>(static_cast<const float*>(out), scale,
                                                              tokens, hidden, acc);
  } else {
    accumulate_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
        static_cast<const __nv_bfloat16*>(out), scale, tokens, hidden, acc);
  }
}

void combine_rows(const void* expert_out, Precision p, const std::int64_t* pair_row,
                  const float* pair_weight, const std::int64_t* token_pairs, const float* base,
                  std::int64_t tokens, int hidden, float* y, cudaStream_t stream) {
  if (tokens == 0) return;
  const auto blocks = static_cast<unsigned>(tokens);
  if (p == Precision::kFp32) {
    combine_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const float*>(expert_out), pair_row,
                                                    pair_weight, token_pairs, base, hidden, y);
  } else {
    combine_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(expert_out),
                                                    pair_row, pair_weight, token_pairs, base,
                                                    hidden, y);
  }
}

}  // namespace moescope::kernels
