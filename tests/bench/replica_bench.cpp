// Replicated experts: what planning and replica choice cost (shared/ALGORITHMS.md, Replicated
// experts). Targets: the plans of DeepSeek-V3's 61 MoE layers of 256 experts in under 10 ms;
// choosing a replica for every kept pair adds under 5% to the drop policy's cost per layer.
// `scripts/bench_replicas.py` prints the ratios. 32 redundant slots do not split over 64
// devices (288 % 64 != 0), so the plans are timed for DeepSeek-V3's prefill deployment (32
// redundant slots on 32 GPUs, 9 per GPU) and for 64 on 64 devices (5 per device).
//   - BM_PlanReplicas/<algorithm>/<devices>: all 61 layers' plans, 8 devices per node;
//   - BM_Drop: route() + apply_policy(drop) of one layer, T = 4096, E = 256, k = 8, D = 64;
//   - BM_DropAndAssign/<choice>: the same plus assign_replicas().
#include <benchmark/benchmark.h>

#include <vector>

#include "core/base/random.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/replica_plan.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

constexpr int kExperts = 256;
constexpr int kLayers = 61;
constexpr int kDevices = 64;
constexpr int kTokens = 4096;
constexpr int kTopK = 8;

// Skewed loads: a few hot experts, as calibration windows show.
std::vector<std::vector<double>> layer_loads() {
  Rng rng({11});
  std::vector<std::vector<double>> out(kLayers, std::vector<double>(kExperts));
  for (auto& layer : out) {
    for (auto& load : layer)
      load = std::floor(20000.0 * rng.uniform() * rng.uniform() * rng.uniform());
  }
  return out;
}

EplbOptions deepseek_options(EplbAlgorithm algorithm, int devices) {
  EplbOptions o;
  o.redundant_slots = devices;  // one per device
  o.devices = devices;
  o.nodes = devices / 8;
  o.groups = 8;  // DeepSeek-V3's n_group
  o.algorithm = algorithm;
  return o;
}

void BM_PlanReplicas(benchmark::State& state, EplbAlgorithm algorithm) {
  const auto loads = layer_loads();
  const EplbOptions options = deepseek_options(algorithm, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    for (const auto& layer : loads)
      benchmark::DoNotOptimize(plan_replicas(layer, options));
  }
  state.counters["layers"] = kLayers;
}
BENCHMARK_CAPTURE(BM_PlanReplicas, hierarchical, EplbAlgorithm::kHierarchical)
    ->Arg(32)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PlanReplicas, global, EplbAlgorithm::kGlobal)
    ->Arg(32)
    ->Arg(64)
    ->Unit(benchmark::kMillisecond);

struct LayerSetup {
  std::vector<float> logits;
  Placement placement;
  PolicyConfig drop;
  ReplicaPlan plan;
};

LayerSetup layer_setup() {
  LayerSetup s;
  Rng rng({12});
  s.logits.resize(static_cast<std::size_t>(kTokens) * kExperts);
  for (std::size_t i = 0; i < s.logits.size(); ++i)
    s.logits[i] = static_cast<float>(rng.normal() + 0.01 * static_cast<double>(i % kExperts));
  s.placement = balanced_placement(kExperts, kDevices);
  s.drop.kind = PolicyKind::kDrop;
  s.drop.gamma = 1.0;
  s.plan =
      plan_replicas(layer_loads().front(), deepseek_options(EplbAlgorithm::kAutomatic, kDevices));
  return s;
}

void BM_Drop(benchmark::State& state) {
  const LayerSetup s = layer_setup();
  for (auto _ : state) {
    const RouterOutput router = route(s.logits.data(), kTokens, kExperts, kTopK, true);
    benchmark::DoNotOptimize(apply_policy(router, s.drop, s.placement));
  }
}
BENCHMARK(BM_Drop)->Unit(benchmark::kMicrosecond);

void BM_DropAndAssign(benchmark::State& state, ReplicaChoice choice) {
  const LayerSetup s = layer_setup();
  for (auto _ : state) {
    const RouterOutput router = route(s.logits.data(), kTokens, kExperts, kTopK, true);
    const PolicyOutcome outcome = apply_policy(router, s.drop, s.placement);
    benchmark::DoNotOptimize(assign_replicas(outcome, s.plan, router, choice));
  }
}
BENCHMARK_CAPTURE(BM_DropAndAssign, round_robin, ReplicaChoice::kRoundRobin)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_DropAndAssign, local_first, ReplicaChoice::kLocalFirst)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace moescope

BENCHMARK_MAIN();
