// The policy pipeline on the GPU against core's apply_policy on the same router output.
#include <gtest/gtest.h>

#include "core/moe/placement.h"
#include "core/moe/router.h"
#include "kernels/device_policy.h"
#include "tests/gpu/gpu_test_support.h"
#include "tests/unit/test_support.h"

namespace moescope::kernels {
namespace {

class DevicePolicy : public test::GpuTest {};

TEST_F(DevicePolicy, KeepsExactlyWhatCoreKeeps) {
  struct Shape {
    int tokens, experts, top_k, devices;
  };
  for (const Shape& s : {Shape{1, 8, 2, 2}, Shape{512, 60, 4, 6}, Shape{4096, 64, 6, 8},
                         Shape{16384, 64, 8, 8}, Shape{16384, 8, 2, 8}}) {
    const auto logits = test::random_logits(s.tokens, s.experts, 1.0, 11);
    const RouterOutput router = route(logits.data(), s.tokens, s.experts, s.top_k, true);
    const Placement placement = balanced_placement(s.experts, s.devices);
    for (const PolicyConfig& c : test::all_policy_configs()) {
      test::expect_same_outcome(apply_policy_on_gpu(router, c, placement, nullptr),
                                apply_policy(router, c, placement),
                                "T=" + std::to_string(s.tokens) +
                                    " E=" + std::to_string(s.experts) + " " + policy_label(c));
    }
  }
}

// The backend's stream does not wait for the default stream that Thrust fills vectors on.
TEST_F(DevicePolicy, OnANonBlockingStreamToo) {
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  const auto logits = test::random_logits(8192, 64, 1.5, 12);
  const RouterOutput router = route(logits.data(), 8192, 64, 8, false);
  const Placement placement = balanced_placement(64, 8);
  for (const PolicyConfig& c : test::all_policy_configs()) {
    test::expect_same_outcome(apply_policy_on_gpu(router, c, placement, stream),
                              apply_policy(router, c, placement), policy_label(c));
  }
  cudaStreamDestroy(stream);
}

}  // namespace
}  // namespace moescope::kernels
