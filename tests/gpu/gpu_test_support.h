// Shared by the GPU tests: skipping without a GPU, and one MoE layer's inputs built the way
// the runner builds them (host routing, policy and plan), for the CPU and GPU to run alike.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/expert_weights.h"
#include "core/model/model_spec.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope::test {

// Skips the test, saying why, on a machine without a usable CUDA GPU.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

struct LayerSetup {
  ModelSpec spec;
  int tokens = 0;
  std::vector<float> x;       // [T, H], unit variance
  std::vector<float> logits;  // [T, E]
  RouterOutput router;
  PolicyOutcome outcome;
  DispatchPlan plan;
  ExpertWeights weights;
};

// A small layer with E experts, top-k, and optionally shared experts (sigmoid-gated when
// `sigmoid_shared`), under `policy` at gamma 1 over 4 devices.
LayerSetup make_layer(int experts, int top_k, int tokens, bool shared, bool sigmoid_shared,
                      const PolicyConfig& policy, std::uint64_t seed);

// Every policy, priority, reroute scope and m, at gamma 0.5, 1 and 1.5, both capacity scopes,
// with and without renormalization.
std::vector<PolicyConfig> all_policy_configs();

// The same kept pairs (token, expert, in_topk), bit-equal weights, the same capacities.
void expect_same_outcome(const PolicyOutcome& got, const PolicyOutcome& want,
                         const std::string& where);

// max |a-b| (the relative L2 distance is core's relative_error, core/run/output_error.h).
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace moescope::test
