// The device memory one layer works in: its inputs (hidden states, plan, pair weights), the
// activations of every stage, the output and the grouped GEMMs' pointer arrays. All of it is
// sized by one call before the layer's first timed span: cudaMalloc and cudaFree wait for the
// GPU, and that wait must not land inside a timed span.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/model/expert_weights.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/policy.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_buffer.h"
#include "kernels/expert_gemm.h"
#include "kernels/precision.h"
#include "kernels/weight_cache.h"

namespace moescope::kernels {

// What a layer's buffers are sized by.
struct LayerShape {
  std::size_t tokens = 0;
  std::size_t hidden = 0;
  std::size_t ffn = 0;
  std::size_t rows = 0;        // dispatched rows, plan.row_token
  std::size_t pair_rows = 0;   // plan.pair_row
  std::size_t kept_pairs = 0;  // outcome.kept
  std::size_t shared_experts = 0;
  std::size_t shared_ffn = 0;
  std::size_t grouped_problems = 0;  // experts with rows, under GemmMode::kGrouped
};

LayerShape layer_shape(const ExpertWeights& w, const PolicyOutcome& outcome,
                       const DispatchPlan& plan, GemmMode mode);

// Activations are in the backend's precision unless named fp32.
struct LayerBuffers {
  DeviceBuffer x{"the hidden states"};  // fp32
  DeviceBuffer row_token{"the dispatch plan"};
  DeviceBuffer pair_row{"the dispatch plan"};
  DeviceBuffer pair_weight{"the pair weights"};
  DeviceBuffer token_pairs{"the dispatch plan"};
  DeviceBuffer permuted_in{"the dispatched rows"};
  DeviceBuffer gate_up_out{"the experts' gate and up activations"};
  DeviceBuffer act{"the experts' SwiGLU activations"};
  DeviceBuffer expert_out{"the experts' outputs"};
  DeviceBuffer y{"the layer output"};  // fp32
  DeviceBuffer x_lowp{"the hidden states in bf16"};
  DeviceBuffer shared_gate_up_out{"the shared experts' activations"};
  DeviceBuffer shared_act{"the shared experts' activations"};
  DeviceBuffer shared_out{"the shared experts' outputs"};
  DeviceBuffer shared_acc{"the shared experts' sum"};   // fp32
  DeviceBuffer shared_scale{"the shared expert gate"};  // fp32
  GroupedGemm grouped_up{"the grouped GEMM's pointers"};
  GroupedGemm grouped_down{"the grouped GEMM's pointers"};
};

class LayerWorkspace {
 public:
  explicit LayerWorkspace(Precision precision) : precision_(precision) {}

  // Grows every buffer the layer of this shape uses (contents are not kept when one grows).
  void reserve_for(const LayerShape& shape);

  // Puts x, the plan and the kept pairs' weights on the GPU and returns once they are there.
  // After reserve_for(layer_shape(...)) of the same layer.
  void upload_inputs(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                     const DispatchPlan& plan, cudaStream_t stream);

  // Points the grouped GEMMs at this layer's rows and the cached weights, so that the timed
  // span only launches them.
  void point_grouped_gemms(const ExpertWeights& w, const DispatchPlan& plan,
                           const WeightCache& weights, cudaStream_t stream);

  const LayerBuffers& buffers() const { return buffers_; }

 private:
  Precision precision_;
  LayerBuffers buffers_;
  std::vector<float> host_weight_;
  std::vector<std::int64_t> host_token_pairs_;
};

}  // namespace moescope::kernels
