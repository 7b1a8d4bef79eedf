// The CUDA layer against the CPU backend on the same inputs: every policy, E in {8, 60, 64},
// k in {1, 2, 4, 6, 8}, T from 1 to 16384, shared experts on and off, fp32 and bf16, per-expert
// and grouped GEMMs.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <string>

#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/run/output_error.h"
#include "core/run/runner.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"
#include "kernels/cuda_backend.h"
#include "kernels/device_buffer.h"
#include "tests/gpu/gpu_test_support.h"

namespace moescope::kernels {
namespace {

struct GpuLayerCase {
  int experts;
  int top_k;
  int tokens;
  PolicyKind policy;
  bool shared;
};

std::string case_name(const GpuLayerCase& c) {
  return "E" + std::to_string(c.experts) + "_k" + std::to_string(c.top_k) + "_T" +
         std::to_string(c.tokens) + "_" + policy_name(c.policy) + (c.shared ? "_shared" : "");
}

void PrintTo(const GpuLayerCase& c, std::ostream* os) {
  *os << case_name(c);
}

std::vector<GpuLayerCase> all_cases() {
  const int token_counts[] = {1, 7, 512, 4096, 16384};
  const PolicyKind policies[] = {PolicyKind::kNone, PolicyKind::kDrop, PolicyKind::kExpanded,
                                 PolicyKind::kReroute};
  std::vector<GpuLayerCase> cases;
  int i = 0;
  for (int experts : {8, 60, 64}) {
    for (int top_k : {1, 2, 4, 6, 8}) {
      for (PolicyKind policy : policies) {
        cases.push_back({experts, top_k, token_counts[i % 5], policy, i % 2 == 1});
        ++i;
      }
    }
  }
  return cases;
}

PolicyConfig policy_of(PolicyKind kind) {
  PolicyConfig p;
  p.kind = kind;
  p.gamma = 1.0;
  p.m = 2;
  return p;
}

class CudaLayerMatchesCpu : public test::GpuTest,
                            public ::testing::WithParamInterface<GpuLayerCase> {};

TEST_P(CudaLayerMatchesCpu, InBothPrecisionsAndBothGemmModes) {
  const GpuLayerCase c = GetParam();
  const test::LayerSetup s = test::make_layer(c.experts, c.top_k, c.tokens, c.shared,
                                              c.experts == 60, policy_of(c.policy), 17);
  const LayerExecution cpu =
      make_cpu_backend()->run_layer(s.x.data(), s.weights, s.outcome, s.plan, nullptr);
  for (GemmMode mode : {GemmMode::kPerExpert, GemmMode::kGrouped}) {
    for (Precision precision : {Precision::kFp32, Precision::kBf16}) {
      CudaBackendOptions o;
      o.mode = mode;
      o.precision = precision;
      const auto gpu = make_cuda_backend(o);
      const LayerExecution g = gpu->run_layer(s.x.data(), s.weights, s.outcome, s.plan, nullptr);
      ASSERT_EQ(g.output.size(), cpu.output.size());
      const std::string what = gpu->describe();
      if (precision == Precision::kFp32) {
        EXPECT_LT(relative_error(g.output, cpu.output), 1e-4) << what;
      } else {
        // bf16 rounds x, the weights and each GEMM's output (as a bf16 PyTorch layer does):
        // about 5e-3 relative, and over millions of unit-scale outputs a worst element near
        // 0.03, which is why the bound on single elements is wider than atol 2e-2.
        EXPECT_LT(relative_error(g.output, cpu.output), 1e-2) << what;
        EXPECT_LT(test::max_abs_diff(g.output, cpu.output), 0.1) << what;
      }
      // The same input gives the same bits: the combine has a fixed order, no atomics.
      const LayerExecution again =
          gpu->run_layer(s.x.data(), s.weights, s.outcome, s.plan, nullptr);
      EXPECT_EQ(again.output, g.output) << what;
      for (int e = 0; e < c.experts; ++e) {
        const auto ns = g.expert_ns[static_cast<std::size_t>(e)];
        if (s.plan.rows_of(e) == 0) {
          EXPECT_EQ(ns, 0) << what << " expert " << e;
        } else {
          EXPECT_GT(ns, 0) << what << " expert " << e;
          EXPECT_LT(ns, 1'000'000'000) << what << " expert " << e;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaLayerMatchesCpu, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<GpuLayerCase>& param_info) {
                           return case_name(param_info.param);
                         });

class CudaBackend : public test::GpuTest {};

TEST_F(CudaBackend, TimesEveryExpertWithCupti) {
  const test::LayerSetup s =
      test::make_layer(64, 6, 4096, true, false, policy_of(PolicyKind::kNone), 5);
  const auto gpu = make_cuda_backend({});
  ASSERT_EQ(gpu->collector(), "cupti") << gpu->describe();
  gpu->run_layer(s.x.data(), s.weights, s.outcome, s.plan, nullptr);  // uploads the weights
  const auto start = std::chrono::steady_clock::now();
  const LayerExecution g = gpu->run_layer(s.x.data(), s.weights, s.outcome, s.plan, nullptr);
  const auto wall_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  std::int64_t busy = g.dispatch_ns + g.shared_ns + g.combine_ns;
  for (int e = 0; e < 64; ++e) {
    const auto ns = g.expert_ns[static_cast<std::size_t>(e)];
    EXPECT_EQ(ns > 0, s.plan.rows_of(e) > 0) << "expert " << e;
    busy += ns;
  }
  EXPECT_GT(g.dispatch_ns, 0);
  EXPECT_GT(g.shared_ns, 0);
  EXPECT_GT(g.combine_ns, 0);
  EXPECT_LT(busy, wall_ns);  // kernels on one stream cannot take longer than the call
}

TEST_F(CudaBackend, CancelStopsBetweenExperts) {
  const test::LayerSetup s =
      test::make_layer(8, 2, 64, false, false, policy_of(PolicyKind::kNone), 1);
  CancelFlag cancel{true};
  EXPECT_THROW(make_cuda_backend({})->run_layer(s.x.data(), s.weights, s.outcome, s.plan, &cancel),
               Cancelled);
}

TEST_F(CudaBackend, AWholeRunThroughTheRunnerMatchesTheCpu) {
  const ModelSpec spec = scaled(preset("olmoe-1b-7b"), 8);
  RunOptions o;
  o.spec = spec;
  o.spec.layer_subset = {0, 1};
  o.devices = 8;
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  o.policies = {drop};
  auto cpu_source = make_synthetic_routing(o.spec, {512, 3, 1.0});
  const RunResult cpu = run_model(o, *cpu_source, *make_cpu_backend(), nullptr, nullptr);
  register_cuda_backends();
  auto gpu_source = make_synthetic_routing(o.spec, {512, 3, 1.0});
  const RunResult gpu = run_model(o, *gpu_source, *make_backend("cuda:fp32"), nullptr, nullptr);
  EXPECT_EQ(gpu.backend, "cuda");
  EXPECT_EQ(gpu.collector, "cupti");
  ASSERT_EQ(gpu.runs.size(), cpu.runs.size());
  for (std::size_t r = 0; r < cpu.runs.size(); ++r) {
    ASSERT_EQ(gpu.runs[r].records.size(), cpu.runs[r].records.size());
    for (std::size_t i = 0; i < cpu.runs[r].records.size(); ++i) {
      // Same kept pairs (the policy runs on the host for both), same output error.
      EXPECT_EQ(gpu.runs[r].records[i].load.kept_load, cpu.runs[r].records[i].load.kept_load);
      EXPECT_NEAR(gpu.runs[r].records[i].output_error, cpu.runs[r].records[i].output_error, 1e-4);
      EXPECT_GT(gpu.runs[r].records[i].timeline.latency_ns, 0);
    }
  }
}

TEST_F(CudaBackend, TheSessionStoresWhichBackendAndCollectorTimedARun) {
  register_cuda_backends();
  const std::string path = ::testing::TempDir() + "cuda_backend_test.moescope";
  std::remove(path.c_str());
  SessionStore store(path, SessionStore::Access::kWrite);
  Experiment e;
  e.model.preset = "deepseek-v2-lite";
  e.model.scale = 8;
  e.model.layers = {0};
  e.routing.tokens = 256;
  e.routing.skew = 1.0;
  e.seed = 1;
  e.devices = {4};
  e.policies.kinds = {};                         // the baseline alone
  const auto backend = make_backend(e.backend);  // "auto"
  const RecordedExperiment recorded = record_experiment(store, e, *backend, nullptr, nullptr);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].backend, "cuda-grouped");  // what "auto" chose, not "auto"
  EXPECT_EQ(runs[0].collector, "cupti");
  EXPECT_EQ(runs[0].status, "complete");
  EXPECT_NE(recorded.batches.front().result.backend_detail.find("CUDA"), std::string::npos);
  // Every expert with rows has its kernels stored, tagged with its device (4 devices, 64
  // experts: 16 each), and each layer's first kernel starts at 0.
  const auto kernels = store.gpu_kernels(runs[0].id);
  ASSERT_FALSE(kernels.empty());
  bool starts_at_zero = false;
  for (const auto& k : kernels) {
    EXPECT_EQ(k.layer, 0);
    EXPECT_GE(k.start_ns, 0);
    EXPECT_GE(k.end_ns, k.start_ns);
    EXPECT_FALSE(k.name.empty());
    if (k.expert >= 0) {
      EXPECT_EQ(k.device, k.expert / 16) << k.name;
    }
    starts_at_zero = starts_at_zero || k.start_ns == 0;
  }
  EXPECT_TRUE(starts_at_zero);
  std::remove(path.c_str());
}

TEST_F(CudaBackend, BadRequestsGetClearErrors) {
  register_cuda_backends();
  try {
    make_backend("cuda:gpu=4095");
    FAIL() << "GPU 4095 should not exist";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GPU 4095 does not exist"), std::string::npos) << e.what();
  }
  DeviceBuffer huge("a test buffer");
  try {
    huge.reserve(std::size_t{1} << 50);  // a petabyte
    FAIL() << "a petabyte should not fit";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory: a test buffer needs"), std::string::npos)
        << e.what();
  }
  huge.reserve(1 << 20);  // and the GPU is still usable
  EXPECT_NE(huge.data(), nullptr);
}

}  // namespace
}  // namespace moescope::kernels
