// The CUDA backend: one MoE layer on one GPU. Gating (a warp per token) and the capacity
// policy (kernels/policy_pipeline.cuh) run on the GPU with core's per-pair rules; the kept pairs
// come back for the metrics and the dispatch plan. Then the GPU gathers each expert's rows, runs
// the SwiGLU experts through cuBLAS in bf16 (or fp32) with fp32 accumulation, adds the shared
// experts and combines deterministically. Experts of all virtual devices run on this GPU, each
// timed on its own, and core composes the device timelines from those times.
#pragma once

#include <memory>

#include "core/exec/backend.h"
#include "kernels/precision.h"

namespace moescope::kernels {

enum class GemmMode {
  kPerExpert,  // one GEMM pair per expert: every expert's kernels timed on their own
  kGrouped,    // one grouped GEMM per projection for all experts: fastest
};

struct CudaBackendOptions {
  GemmMode mode = GemmMode::kPerExpert;
  Precision precision = Precision::kBf16;
  int gpu = 0;
  bool use_cupti = true;    // false: time with CUDA events
  bool gpu_routing = true;  // false: gating and the policy on the host (core's code)
};

// Throws Error when there is no usable GPU (no driver, too old a driver, no such device).
std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options);

// Registers "cuda" (per-expert GEMMs) and "cuda-grouped" with core's backend registry.
void register_cuda_backends();

}  // namespace moescope::kernels
