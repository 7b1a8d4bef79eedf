// The CPU backend: fp32 SwiGLU experts through the BLAS, each expert timed on its own.
#pragma once

#include <memory>

#include "core/exec/backend.h"

namespace moescope {

std::unique_ptr<Backend> make_cpu_backend();

// y[rows, H] = W_down . (silu(W_gate . x) * (W_up . x)) for `rows` rows of x[rows, H], in
// blocks of rows so the scratch stays small. `gate_up` is [2F, H], `down` is [H, F].
void swiglu_ffn(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y);

}  // namespace moescope
