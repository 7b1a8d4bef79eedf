#include "kernels/gating_stage.h"

#include "kernels/cuda_check.h"
#include "kernels/gating.h"
#include "profiler/nvtx_range.h"

namespace moescope::kernels {

bool GatingStage::runs_on_gpu(int experts, int top_k, int groups) {
  if (experts > kMaxGatingExperts || top_k > kMaxGatingTopK || groups > kMaxGatingGroups) {
    fell_back_to_host_ = true;  // beyond what the kernel holds in registers
    return false;
  }
  return true;
}

RouterOutput GatingStage::run(const float* logits, int tokens, int experts, int top_k,
                              const RouterConfig& router, const float* selection_bias,
                              cudaStream_t stream) {
  profiler::NvtxRange range("gating");
  const auto T = static_cast<std::size_t>(tokens);
  const auto E = static_cast<std::size_t>(experts);
  const auto K = static_cast<std::size_t>(top_k);
  logits_.reserve(T * E * sizeof(float));
  probs_.reserve(T * E * sizeof(float));
  topk_experts_.reserve(T * K * sizeof(int));
  topk_weights_.reserve(T * K * sizeof(float));
  topk_sum_.reserve(T * sizeof(float));
  check_cuda(cudaMemcpyAsync(logits_.data(), logits, T * E * sizeof(float), cudaMemcpyHostToDevice,
                             stream),
             "uploading the router logits");
  const float* device_bias = nullptr;
  if (selection_bias != nullptr) {
    bias_.reserve(E * sizeof(float));
    check_cuda(cudaMemcpyAsync(bias_.data(), selection_bias, E * sizeof(float),
                               cudaMemcpyHostToDevice, stream),
               "uploading the router's selection bias");
    device_bias = bias_.as<float>();
  }
  launch_gating(logits_.as<float>(), device_bias, tokens, experts, top_k, router,
                probs_.as<float>(), topk_experts_.as<int>(), topk_weights_.as<float>(),
                topk_sum_.as<float>(), stream);
  check_cuda(cudaGetLastError(), "launching the gating kernel");
  RouterOutput out = empty_router_output(tokens, experts, top_k, router);
  check_cuda(cudaMemcpyAsync(out.probs.data(), probs_.data(), T * E * sizeof(float),
                             cudaMemcpyDeviceToHost, stream),
             "reading the router's probabilities");
  check_cuda(cudaMemcpyAsync(out.topk_experts.data(), topk_experts_.data(), T * K * sizeof(int),
                             cudaMemcpyDeviceToHost, stream),
             "reading the router's choices");
  check_cuda(cudaMemcpyAsync(out.topk_sum.data(), topk_sum_.data(), T * sizeof(float),
                             cudaMemcpyDeviceToHost, stream),
             "reading the router's choices");
  check_cuda(cudaStreamSynchronize(stream), "gating");
  return out;
}

}  // namespace moescope::kernels
