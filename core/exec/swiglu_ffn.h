// One SwiGLU expert on the CPU: y = W_down . (silu(W_gate . x) * (W_up . x)), in fp32 or bf16
// (fp32 accumulation either way): through oneDNN, with the activation fused into its products,
// or for few rows or small weights through the skinny kernels or OpenBLAS (FfnKernels).
// gpt-oss's experts (clamped SwiGLU, biases on both projections) take the same kernels with
// the activation as a separate pass between them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/exec/cpu_precision.h"
#include "core/exec/onednn_matmul.h"
#include "core/exec/skinny_matmul.h"
#include "core/model/expert_mlp.h"

namespace moescope {

// What an expert computes besides its two products: the plain SwiGLU unless told.
struct FfnActivation {
  ExpertMlp mlp;
  const float* gate_up_bias = nullptr;  // [2F], the gate's first, when mlp.biases
  const float* down_bias = nullptr;     // [H], when mlp.biases
};

// Which kernels compute a layer's experts. Chosen for a whole layer: oneDNN computes on OpenMP's
// threads, the skinny kernels and OpenBLAS on others, and handing the cores from one set of
// threads to the other for every expert costs more than it saves.
enum class FfnKernels {
  kOnednn,         // oneDNN for every expert
  kSkinnyFewRows,  // the skinny kernels for experts of at most kSkinnyMaxRows rows, oneDNN above
  kBlas,           // OpenBLAS (fp32): weights that small stay in cache, and oneDNN's cost per
                   // call (its threads woken, its memory objects made) exceeds such a product
};

// The kernels for a layer of `rows` rows over `experts` experts (those with rows), each with
// `weight_bytes` of fp32 weights: measured choices (README, "The CPU's matrix products").
FfnKernels choose_ffn_kernels(CpuPrecision precision, std::int64_t rows, std::int64_t experts,
                              std::uint64_t weight_bytes);

// fp32 weights up to this many bytes per expert take OpenBLAS.
constexpr std::uint64_t kSmallExpertBytes = 256 * 1024;

class SwigluFfn {
 public:
  // y[rows, H] for `rows` rows of x[rows, H]. x, gate_up and down are in `precision` (bf16 as
  // 16-bit patterns): gate_up is [2F, H] (the gate's rows first), down is [H, F]. Rows go in
  // blocks so the scratch stays small; `kernels` as choose_ffn_kernels says.
  void run(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
           const void* down, int ffn, int hidden, float* y,
           FfnKernels kernels = FfnKernels::kSkinnyFewRows, const FfnActivation& activation = {});

  // Generates the code of the products `run` will compute for `rows` rows, so that the clock
  // around `run` times computing only.
  void prepare(CpuPrecision precision, std::int64_t rows, int ffn, int hidden,
               FfnKernels kernels = FfnKernels::kSkinnyFewRows, const ExpertMlp& mlp = {});
  // Before a layer's prepare calls: room for `experts` experts' products (OnednnMatmul::make_room).
  void make_room(int experts);

 private:
  void run_blas(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y);
  void run_skinny(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
                  const void* down, int ffn, int hidden, float* y);
  // Any activation and biases: both projections unfused, the activation a pass between them.
  void run_general(CpuPrecision precision, const void* x, std::int64_t rows, const void* gate_up,
                   const void* down, int ffn, int hidden, float* y, FfnKernels kernels,
                   const FfnActivation& activation);

  OnednnMatmul matmul_;
  std::vector<float> gate_;        // silu(W_gate . x), [block, F] ([rows, 2F] on the skinny path)
  std::vector<float> activation_;  // its product with W_up . x, [block, F], fp32 or bf16 (packed)
};

// The fp32 expert on a thread's own SwigluFfn.
void swiglu_ffn(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y);

}  // namespace moescope
