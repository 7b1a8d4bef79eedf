// The backend's router on the GPU: the logits go up, the gating kernel (kernels/gating.h) runs,
// the probabilities and every token's choices come back. Shapes beyond what the kernel holds
// in registers are left to the host.
#pragma once

#include <cuda_runtime.h>

#include "core/moe/router.h"
#include "kernels/device_buffer.h"

namespace moescope::kernels {

class GatingStage {
 public:
  // Whether the kernel takes this shape. A shape it does not take is remembered, so that the
  // backend's description can say gating went to the host.
  bool runs_on_gpu(int experts, int top_k, int groups);
  bool fell_back_to_host() const { return fell_back_to_host_; }

  // Gating on the current GPU, on `stream`; returns once the results are on the host.
  // `selection_bias` is [E] or null.
  RouterOutput run(const float* logits, int tokens, int experts, int top_k,
                   const RouterConfig& router, const float* selection_bias, cudaStream_t stream);

 private:
  bool fell_back_to_host_ = false;
  DeviceBuffer logits_{"the router logits"};
  DeviceBuffer bias_{"the router's selection bias"};
  DeviceBuffer probs_{"the router's probabilities"};
  DeviceBuffer topk_experts_{"the router's choices"};
  DeviceBuffer topk_weights_{"the router's weights"};
  DeviceBuffer topk_sum_{"the router's top-k sums"};
};

}  // namespace moescope::kernels
