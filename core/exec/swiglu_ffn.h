// One SwiGLU expert on the CPU: y = W_down . (silu(W_gate . x) * (W_up . x)), in fp32 or bf16
// (fp32 accumulation either way), the activation fused into the products by oneDNN.
#pragma once

#include <cstdint>
#include <vector>

#include "core/exec/cpu_precision.h"
#include "core/exec/onednn_matmul.h"

namespace moescope {

class SwigluFfn {
 public:
  // y[rows, H] for `rows` rows of x[rows, H]. x, gate_up and down are in `precision` (bf16 as
  // 16-bit patterns): gate_up is [2F, H] (the gate's rows first), down is [H, F]. Rows go in
  // blocks so the scratch stays small. With `skinny`, at most kSkinnyMaxRows rows go through
  // the skinny kernels, which read each weight once, instead of oneDNN. Callers decide it for a
  // whole layer: oneDNN computes on OpenMP's threads and the skinny kernels on the worker pool,
  // and handing the cores from one to the other for every expert costs more than it saves.
  void run(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
           const void* down, int ffn, int hidden, float* y, bool skinny = true);

  // Generates the code of the products `run` will compute for `rows` rows, so that the clock
  // around `run` times computing only.
  void prepare(CpuPrecision precision, std::int64_t rows, int ffn, int hidden, bool skinny = true);
  // Before a layer's prepare calls: room for `experts` experts' products (OnednnMatmul::make_room).
  void make_room(int experts);

 private:
  void run_skinny(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
                  const void* down, int ffn, int hidden, float* y);

  OnednnMatmul matmul_;
  std::vector<float> gate_;        // silu(W_gate . x), [block, F] ([rows, 2F] on the skinny path)
  std::vector<float> activation_;  // its product with W_up . x, [block, F], fp32 or bf16 (packed)
};

// The fp32 expert on a thread's own SwigluFfn.
void swiglu_ffn(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y);

}  // namespace moescope
