// The capacity policies run the way the GPU runs them (kernels/policy_pipeline.cuh): sorts,
// scans and searches over all candidate pairs at once. On the GPU, or with the same code on
// the host, which is how CI checks it against core's apply_policy without a GPU.
#pragma once

#include <cuda_runtime.h>

#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope::kernels {

// The pipeline with thrust::host. Same contract as apply_policy (throws Error likewise).
PolicyOutcome apply_policy_pipeline_on_host(const RouterOutput& router, const PolicyConfig& config,
                                            const Placement& placement);

// The pipeline on the current GPU, on `stream`; the router's arrays go up, the kept pairs come
// back. Throws Error on bad input and on a CUDA failure.
PolicyOutcome apply_policy_on_gpu(const RouterOutput& router, const PolicyConfig& config,
                                  const Placement& placement, cudaStream_t stream);

}  // namespace moescope::kernels
