// NVTX ranges in a "MoEScope" domain around every phase of a layer, so that Nsight Systems
// shows the same structure MoEScope stores. Without the CUDA toolkit they cost nothing.
#pragma once

#include <string>

namespace moescope::profiler {

class NvtxRange {
 public:
  explicit NvtxRange(const std::string& name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

// Whether this build emits NVTX ranges (it does when built with the CUDA toolkit).
bool nvtx_enabled();

}  // namespace moescope::profiler
