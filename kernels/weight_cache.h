// The experts' weights on the GPU, in the backend's precision. One weight set serves every
// layer of a run, so it goes up once and stays while the layers bring the same set.
#pragma once

#include <cuda_runtime.h>

#include <vector>

#include "core/model/expert_weights.h"
#include "kernels/device_buffer.h"
#include "kernels/precision.h"

namespace moescope::kernels {

class WeightCache {
 public:
  explicit WeightCache(Precision precision) : precision_(precision) {}

  // Puts `w` on the current GPU unless it is the set already there; returns once it is.
  void upload(const ExpertWeights& w, cudaStream_t stream);

  const DeviceBuffer& gate_up() const { return gate_up_; }
  const DeviceBuffer& down() const { return down_; }
  const DeviceBuffer& shared_gate_up() const { return shared_gate_up_; }
  const DeviceBuffer& shared_down() const { return shared_down_; }
  const DeviceBuffer& shared_gate() const { return shared_gate_; }  // fp32

 private:
  void upload_converted(const std::vector<float>& host, DeviceBuffer& dst, cudaStream_t stream);

  Precision precision_;
  std::vector<float> fingerprint_;  // of the set on the GPU; empty while none is whole there
  DeviceBuffer gate_up_{"the experts' gate and up weights"};
  DeviceBuffer down_{"the experts' down weights"};
  DeviceBuffer shared_gate_up_{"the shared experts' gate and up weights"};
  DeviceBuffer shared_down_{"the shared experts' down weights"};
  DeviceBuffer shared_gate_{"the shared expert gate"};
  DeviceBuffer staging_{"the weight upload staging"};
};

}  // namespace moescope::kernels
