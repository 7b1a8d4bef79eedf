// The element-wise and gather/scatter kernels of one MoE layer. Launchers are plain C++ so
// that the backend (a .cpp) can call them; `Precision` picks fp32 or bf16 activations.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/precision.h"

namespace moescope::kernels {

// Converts n fp32 values to `to` (a copy when fp32).
void convert_from_fp32(const float* in, std::int64_t n, Precision to, void* out,
                       cudaStream_t stream);

// Dispatch: out[r] = x[row_token[r]] for r < rows, each row H wide, converted to `p`.
void gather_rows(const float* x, const std::int64_t* row_token, std::int64_t rows, int hidden,
                 Precision p, void* out, cudaStream_t stream);

// SwiGLU's middle: act[r, f] = silu(gu[r, f]) * gu[r, F + f], computed in fp32.
void swiglu_rows(const void* gate_up, std::int64_t rows, int ffn, Precision p, void* act,
                 cudaStream_t stream);

// scale[t] = sigmoid(gate . x[t]) for the sigmoid-gated shared expert (Qwen-MoE).
void shared_gate_scale(const float* x, const float* gate, std::int64_t tokens, int hidden,
                       float* scale, cudaStream_t stream);

// acc[t] += (scale ? scale[t] : 1) * out[t], out in precision `p`.
void accumulate_rows(const void* out, const float* scale, std::int64_t tokens, int hidden,
                     Precision p, float* acc, cudaStream_t stream);

// The combine, deterministic: one block per token, its pairs summed in order (token, then
// expert) with no atomics: y[t] = base[t] + sum_i w[i] * expert_out[pair_row[i]] over the
// pairs i of token t, token_pairs[t]..token_pairs[t+1]-1. `base` may be null (zero).
void combine_rows(const void* expert_out, Precision p, const std::int64_t* pair_row,
                  const float* pair_weight, const std::int64_t* token_pairs, const float* base,
                  std::int64_t tokens, int hidden, float* y, cudaStream_t stream);

}  // namespace moescope::kernels
