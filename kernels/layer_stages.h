// The layer's GPU work, one call per timed span: the dispatch gather, one expert's SwiGLU FFN
// or all experts' through the grouped GEMMs, the shared experts, the combine. Each only
// enqueues work on the stream; marks, tags and times around them are the caller's.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/model/expert_weights.h"
#include "kernels/layer_workspace.h"
#include "kernels/precision.h"
#include "kernels/weight_cache.h"

namespace moescope::kernels {

class LayerStages {
 public:
  LayerStages(const ExpertWeights& w, const WeightCache& weights, const LayerBuffers& buffers,
              Precision precision, cudaStream_t stream, cublasHandle_t cublas)
      : w_(w),
        weights_(weights),
        b_(buffers),
        precision_(precision),
        stream_(stream),
        cublas_(cublas) {}

  void dispatch(std::int64_t rows) const;
  // Expert e on its `rows` dispatched rows from `first_row`.
  void expert(int e, std::int64_t first_row, std::int64_t rows) const;
  // Every expert at once, through the grouped GEMMs the workspace has pointed.
  void experts_grouped(std::int64_t rows) const;
  void shared_experts(std::int64_t tokens) const;
  void combine(std::int64_t tokens) const;

 private:
  const ExpertWeights& w_;
  const WeightCache& weights_;
  const LayerBuffers& b_;
  Precision precision_;
  cudaStream_t stream_;
  cublasHandle_t cublas_;
};

}  // namespace moescope::kernels
