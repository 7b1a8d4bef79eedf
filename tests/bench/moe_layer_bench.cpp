// Google Benchmark suite for the CPU backend, measured side by side in one run so that
// scripts/bench_cpu.py can print ratios that do not depend on how fast this machine is:
//   - BM_MoeLayer: the CPU MoE layer at the OLMoE-1B-7B shape (run_layer only);
//   - BM_DenseGemm: one sgemm with the same FLOPs, the compute ceiling of the layer;
//   - BM_Memcpy / BM_MemoryRead: the memory bandwidth, the floor of a weight-bound layer;
//   - BM_RouterPolicy: route() + apply_policy() at T = 16384 for each policy;
//   - BM_MoeLayerClamped(Bf16): the same layer with gpt-oss's experts (clamped SwiGLU, biases),
//     against BM_MoeLayer(Bf16): what its unfused activation costs (scripts/bench_activation.py);
//   - BM_MoeLayerTiny: a scaled-down layer, for the ctest smoke run.
// Every benchmark uses the wall clock (UseRealTime), since OpenBLAS computes on its own
// threads, whose CPU time the main thread's clock does not see.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/base/blas.h"
#include "core/base/cpu_features.h"
#include "core/base/random.h"
#include "core/exec/backend.h"
#include "core/exec/bf16.h"
#include "core/exec/cpu_backend.h"
#include "core/exec/onednn_matmul.h"
#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/expert_weights.h"
#include "core/model/model_spec.h"
#include "core/model/presets.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

constexpr std::uint64_t kSeed = 1;
constexpr double kSkew = 0.6;  // the CLI default (README: skew table)
constexpr int kDevices = 8;
constexpr std::uint64_t kCopyBytes = 1ull << 30;  // 1 GiB

ModelSpec olmoe() {
  return preset("olmoe-1b-7b");
}

// FLOPs of one kept (token, expert) pair: [1,H].[H,2F] then [1,F].[F,H], two per multiply-add.
double flops_per_pair(const ModelSpec& spec) {
  return 6.0 * static_cast<double>(spec.hidden) * static_cast<double>(spec.expert_ffn);
}

// The OLMoE weights are 1.6 GB of fp32: built once, on first use, and shared by every
// benchmark (the smoke run never builds them).
const ExpertWeights& olmoe_weights() {
  static const ExpertWeights weights = make_synthetic_weights(olmoe(), kSeed);
  return weights;
}

// One layer's input, routing, policy outcome and dispatch plan.
struct LayerCase {
  LayerInput input;
  PolicyOutcome outcome;
  DispatchPlan plan;
  int experts_touched = 0;
};

LayerCase make_layer_case(const ModelSpec& spec, int tokens) {
  LayerCase c;
  auto source = make_synthetic_routing(spec, {tokens, kSeed, kSkew});
  c.input = source->layer(0, 0);
  const RouterOutput router =
      route(c.input.logits.data(), tokens, spec.experts, spec.top_k, spec.router.norm_topk_prob);
  c.outcome = apply_policy(router, PolicyConfig{}, balanced_placement(spec.experts, kDevices));
  c.plan = make_dispatch_plan(c.outcome, spec.experts, tokens);
  for (int e = 0; e < spec.experts; ++e)
    c.experts_touched += c.plan.rows_of(e) > 0 ? 1 : 0;
  return c;
}

void run_layer_benchmark(benchmark::State& state, const ModelSpec& spec,
                         const ExpertWeights& weights,
                         CpuPrecision precision = CpuPrecision::kFp32) {
  const auto tokens = static_cast<int>(state.range(0));
  const LayerCase c = make_layer_case(spec, tokens);
  auto backend = make_cpu_backend(precision);
  // One untimed run, so the backend's buffers are allocated and touched before timing.
  LayerExecution warm_up =
      backend->run_layer(c.input.hidden_states.data(), weights, c.outcome, c.plan, nullptr);
  benchmark::DoNotOptimize(warm_up);
  for (auto _ : state) {
    LayerExecution out =
        backend->run_layer(c.input.hidden_states.data(), weights, c.outcome, c.plan, nullptr);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  const auto rows = static_cast<double>(c.plan.row_token.size());
  const double flops = rows * flops_per_pair(spec);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flops"] = flops;
  state.counters["rows"] = rows;
  state.counters["tokens"] = tokens;
  state.counters["experts_touched"] = c.experts_touched;
  const double bytes_per_weight = precision == CpuPrecision::kFp32 ? 4.0 : 2.0;
  state.counters["touched_weight_bytes"] = static_cast<double>(c.experts_touched) *
                                           static_cast<double>(weights.bytes_per_expert()) *
                                           bytes_per_weight / 4.0;
}

// a. The CPU MoE layer at the OLMoE shape: H 2048, F 1024, E 64, top-8, no shared experts.
void BM_MoeLayer(benchmark::State& state) {
  run_layer_benchmark(state, olmoe(), olmoe_weights());
}
BENCHMARK(BM_MoeLayer)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same layer with bf16 weights and activations (fp32 accumulation), where the CPU has BF16
// instructions.
void BM_MoeLayerBf16(benchmark::State& state) {
  if (!detect_cpu_features().avx512_bf16) {
    state.SkipWithError("this CPU has no AVX-512 BF16 instructions");
    return;
  }
  run_layer_benchmark(state, olmoe(), olmoe_weights(), CpuPrecision::kBf16);
}
BENCHMARK(BM_MoeLayerBf16)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The OLMoE layer with gpt-oss's experts: the same weights and routing, plus biases and the
// clamped activation, which the CPU backend computes between unfused products.
ModelSpec olmoe_clamped() {
  ModelSpec spec = olmoe();
  spec.mlp.activation = ExpertActivation::kClampedSwiglu;
  spec.mlp.biases = true;
  return spec;
}

const ExpertWeights& olmoe_clamped_weights() {
  static const ExpertWeights weights = [] {
    ExpertWeights w = olmoe_weights();
    w.mlp = olmoe_clamped().mlp;
    Rng rng({kSeed, 2});
    w.gate_up_bias.resize(static_cast<std::size_t>(w.experts) * 2 *
                          static_cast<std::size_t>(w.ffn));
    fill_uniform(w.gate_up_bias.data(), w.gate_up_bias.size(), 0.1f, rng);
    w.down_bias.resize(static_cast<std::size_t>(w.experts) * static_cast<std::size_t>(w.hidden));
    fill_uniform(w.down_bias.data(), w.down_bias.size(), 0.1f, rng);
    return w;
  }();
  return weights;
}

void BM_MoeLayerClamped(benchmark::State& state) {
  run_layer_benchmark(state, olmoe_clamped(), olmoe_clamped_weights());
}
BENCHMARK(BM_MoeLayerClamped)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_MoeLayerClampedBf16(benchmark::State& state) {
  if (!detect_cpu_features().avx512_bf16) {
    state.SkipWithError("this CPU has no AVX-512 BF16 instructions");
    return;
  }
  run_layer_benchmark(state, olmoe_clamped(), olmoe_clamped_weights(), CpuPrecision::kBf16);
}
BENCHMARK(BM_MoeLayerClampedBf16)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same pipeline at OLMoE / 16 (H 128, F 64) and 64 tokens: milliseconds, for ctest.
void BM_MoeLayerTiny(benchmark::State& state) {
  const ModelSpec spec = scaled(olmoe(), 16);
  static const ExpertWeights weights = make_synthetic_weights(spec, kSeed);
  run_layer_benchmark(state, spec, weights);
}
BENCHMARK(BM_MoeLayerTiny)->ArgName("T")->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);

// b. The compute ceiling: one product of the layer's FLOPs with the layer's shapes and layout,
// x[M, H] . W[3F, H]^T with M = T * k, so 2 * M * H * 3F = T * k * 6 * H * F: through oneDNN,
// the library the experts use, in their precision, and through OpenBLAS for comparison.
enum class DenseLibrary { kOnednnFp32, kOnednnBf16, kOpenBlas };

void run_dense_benchmark(benchmark::State& state, DenseLibrary library) {
  const ModelSpec spec = olmoe();
  const auto tokens = static_cast<int>(state.range(0));
  const int m = tokens * spec.top_k;
  const int k = spec.hidden;
  const int n = 3 * spec.expert_ffn;
  Rng rng({kSeed, 0x47454D4Dull});
  std::vector<float> a(static_cast<std::size_t>(m) * static_cast<std::size_t>(k));
  std::vector<float> b(static_cast<std::size_t>(n) * static_cast<std::size_t>(k));
  std::vector<float> c(static_cast<std::size_t>(m) * static_cast<std::size_t>(n), 0.0f);
  fill_uniform(a.data(), a.size(), 1.0f, rng);
  fill_uniform(b.data(), b.size(), 1.0f, rng);
  std::vector<std::uint16_t> a16(a.size()), b16(b.size());
  convert_to_bf16(a.data(), a.size(), a16.data(), 1);
  convert_to_bf16(b.data(), b.size(), b16.data(), 1);
  OnednnMatmul matmul;
  const auto gemm = [&] {
    switch (library) {
      case DenseLibrary::kOnednnFp32:
        matmul.multiply({CpuPrecision::kFp32, m, n, k, k, n}, a.data(), b.data(), c.data());
        break;
      case DenseLibrary::kOnednnBf16:
        matmul.multiply({CpuPrecision::kBf16, m, n, k, k, n}, a16.data(), b16.data(), c.data());
        break;
      case DenseLibrary::kOpenBlas:
        blas::multiply_transposed(m, n, k, a.data(), k, b.data(), k, 0.0f, c.data(), n);
        break;
    }
  };
  gemm();  // untimed: the library starts its threads, allocates its buffers, generates its code
  for (auto _ : state) {
    gemm();
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * m * static_cast<double>(k) * n;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["flops"] = flops;
  state.counters["tokens"] = tokens;
}

void BM_DenseGemm(benchmark::State& state) {
  run_dense_benchmark(state, DenseLibrary::kOnednnFp32);
}
void BM_DenseGemmBf16(benchmark::State& state) {
  if (!detect_cpu_features().avx512_bf16) {
    state.SkipWithError("this CPU has no AVX-512 BF16 instructions");
    return;
  }
  run_dense_benchmark(state, DenseLibrary::kOnednnBf16);
}
void BM_DenseSgemmOpenBlas(benchmark::State& state) {
  run_dense_benchmark(state, DenseLibrary::kOpenBlas);
}
BENCHMARK(BM_DenseGemm)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DenseGemmBf16)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DenseSgemmOpenBlas)
    ->ArgName("T")
    ->Arg(16)
    ->Arg(256)
    ->Arg(2048)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// c. Memory bandwidth: a 1 GiB memcpy, counted as read + write, so bytes_per_second is
// 2 GiB per copy over its time. Both buffers are touched first, so no page fault is timed.
void BM_Memcpy(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(kCopyBytes);
  auto src = std::make_unique<char[]>(bytes);
  auto dst = std::make_unique<char[]>(bytes);
  std::memset(src.get(), 1, bytes);
  std::memset(dst.get(), 0, bytes);
  for (auto _ : state) {
    std::memcpy(dst.get(), src.get(), bytes);
    char* copied = dst.get();
    benchmark::DoNotOptimize(copied);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(bytes));
  state.counters["copy_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Memcpy)->UseRealTime()->Unit(benchmark::kMillisecond);

// A read-only stream of 1 GiB split over `threads` threads: what streaming weights costs,
// with no writes. For reference beside the memcpy convention above.
std::uint64_t sum_words(const std::uint64_t* words, std::size_t count) {
  std::uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (std::size_t i = 0; i + 4 <= count; i += 4) {
    s0 += words[i];
    s1 += words[i + 1];
    s2 += words[i + 2];
    s3 += words[i + 3];
  }
  return s0 + s1 + s2 + s3;
}

void BM_MemoryRead(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kWords = kCopyBytes / sizeof(std::uint64_t);
  auto data = std::make_unique<std::uint64_t[]>(kWords);
  for (std::size_t i = 0; i < kWords; ++i)
    data[i] = i;
  const std::size_t share = kWords / threads;
  std::vector<std::uint64_t> sums(threads);
  for (auto _ : state) {
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < threads; ++t)
      workers.emplace_back([&, t] { sums[t] = sum_words(data.get() + t * share, share); });
    sums[0] = sum_words(data.get(), share);
    for (auto& w : workers)
      w.join();
    benchmark::DoNotOptimize(sums);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(share * threads * sizeof(std::uint64_t)));
  state.counters["read_bytes"] = static_cast<double>(share * threads * sizeof(std::uint64_t));
}
BENCHMARK(BM_MemoryRead)
    ->ArgName("threads")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// d. Router + policy at T = 16384, E = 64, k = 8. Routing does not depend on H or F, so the
// logits come from OLMoE / 16; expert_flops is what the kept pairs cost at the full shape.
void BM_RouterPolicy(benchmark::State& state, PolicyKind kind) {
  constexpr int kTokens = 16384;
  const ModelSpec spec = scaled(olmoe(), 16);
  auto source = make_synthetic_routing(spec, {kTokens, kSeed, kSkew});
  const LayerInput input = source->layer(0, 0);
  PolicyConfig config;
  config.kind = kind;
  config.gamma = 1.0;
  if (kind == PolicyKind::kExpanded) config.m = 1;
  const Placement placement = balanced_placement(spec.experts, kDevices);
  std::size_t kept = 0;
  for (auto _ : state) {
    const RouterOutput router =
        route(input.logits.data(), kTokens, spec.experts, spec.top_k, spec.router.norm_topk_prob);
    PolicyOutcome outcome = apply_policy(router, config, placement);
    kept = outcome.kept.size();
    benchmark::DoNotOptimize(outcome);
  }
  state.SetLabel(policy_label(config));
  state.counters["tokens"] = kTokens;
  state.counters["kept_pairs"] = static_cast<double>(kept);
  state.counters["expert_flops"] = static_cast<double>(kept) * flops_per_pair(olmoe());
}
BENCHMARK_CAPTURE(BM_RouterPolicy, none, PolicyKind::kNone)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RouterPolicy, drop, PolicyKind::kDrop)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RouterPolicy, expanded, PolicyKind::kExpanded)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_RouterPolicy, reroute, PolicyKind::kReroute)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// e. The router alone, by variant, at DeepSeek-V3's routing shape (T = 4096, E = 256, k = 8):
// what sigmoid scores, a selection bias and groups cost over the plain softmax router.
void BM_Router(benchmark::State& state, const char* variant) {
  constexpr int kTokens = 4096;
  const ModelSpec spec = scaled(preset("deepseek-v3"), 32);
  auto source = make_synthetic_routing(spec, {kTokens, kSeed, kSkew});
  const LayerInput input = source->layer(0, 0);
  RouterConfig router = spec.router;
  std::vector<float> bias(static_cast<std::size_t>(spec.experts));
  for (std::size_t e = 0; e < bias.size(); ++e)
    bias[e] = 0.001f * static_cast<float>(e % 17);
  const bool plain = std::string(variant) == "softmax";
  if (plain) router = RouterConfig{};
  for (auto _ : state) {
    RouterOutput out = route(input.logits.data(), kTokens, spec.experts, spec.top_k, router,
                             plain ? nullptr : bias.data());
    benchmark::DoNotOptimize(out);
  }
  state.SetLabel(describe(router));
}
BENCHMARK_CAPTURE(BM_Router, softmax, "softmax")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Router, deepseek_v3, "deepseek-v3")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace moescope

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto& kernels = moescope::blas::kernels();
  benchmark::AddCustomContext("onednn_fp32",
                              moescope::OnednnMatmul::kernels(moescope::CpuPrecision::kFp32));
  benchmark::AddCustomContext("onednn_bf16",
                              moescope::OnednnMatmul::kernels(moescope::CpuPrecision::kBf16));
  benchmark::AddCustomContext("onednn_threads", std::to_string(moescope::onednn_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(kernels.threads));
  benchmark::AddCustomContext("openblas_core", kernels.name);
  benchmark::AddCustomContext("openblas_core_reason", kernels.reason);
  benchmark::AddCustomContext("openblas_config", kernels.library);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
