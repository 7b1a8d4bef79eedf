// Google Benchmark suite for the CUDA backend, measured side by side in one run so that
// scripts/bench_gpu.py can print ratios:
//   - BM_CudaMoeLayer/<model>/<T>: one MoE layer, bf16, grouped GEMMs, GPU time of its
//     kernels (dispatch, experts, shared experts, combine), with TFLOP/s and the expert weight
//     bytes it had to read;
//   - BM_CudaDenseGemm/<model>/<T>: one cuBLAS bf16 GEMM with the FLOPs of the routed experts,
//     the ceiling (its rate is what the layer's rate is compared with);
//   - BM_CudaLayerWall/<collector>: a whole run_layer call (uploads and download included),
//     with CUPTI and with CUDA events, for CUPTI's overhead.
// Models: Mixtral-8x7B, OLMoE-1B-7B, DeepSeek-V2-Lite at full size; T = 1, 32, 512, 4096,
// 16384; synthetic routing at the CLI's default skew; no policy (the baseline layer).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "core/inputs/routing_source.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/expert_weights.h"
#include "core/model/model_spec.h"
#include "core/model/presets.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_device.h"
#include "kernels/device_buffer.h"

namespace moescope::kernels {
namespace {

constexpr const char* kModels[] = {"mixtral-8x7b", "olmoe-1b-7b", "deepseek-v2-lite"};
constexpr int kTokens[] = {1, 32, 512, 4096, 16384};

struct LayerCase {
  LayerInput input;
  PolicyOutcome outcome;
  DispatchPlan plan;
};

LayerCase make_case(const ModelSpec& spec, int tokens) {
  auto source = make_synthetic_routing(spec, {tokens, 1, 0.6});
  LayerCase c;
  c.input = source->layer(0, 0);
  const RouterOutput r =
      route(c.input.logits.data(), tokens, spec.experts, spec.top_k, spec.router.norm_topk_prob);
  c.outcome = apply_policy(r, PolicyConfig{}, balanced_placement(spec.experts, 1));
  c.plan = make_dispatch_plan(c.outcome, spec.experts, tokens);
  return c;
}

// The weights of the model last asked for: one model's at a time, since Mixtral's fp32 copy is
// 5.6 GB of host memory, and the benchmarks of a model run one after another.
const ExpertWeights& weights_of(const std::string& model) {
  static std::string cached_model;
  static ExpertWeights cached;
  if (model != cached_model) {
    cached = ExpertWeights{};  // free the last model's before building the next
    cached = make_synthetic_weights(preset(model), 1);
    cached_model = model;
  }
  return cached;
}

double layer_flops(const ModelSpec& spec, const DispatchPlan& plan, int tokens) {
  const double pairs = static_cast<double>(plan.row_token.size());
  const double shared = static_cast<double>(spec.shared_experts) * tokens *
                        static_cast<double>(spec.shared_ffn) / spec.expert_ffn;
  return 6.0 * spec.hidden * static_cast<double>(spec.expert_ffn) * (pairs + shared);
}

double weight_bytes_read(const ModelSpec& spec, const DispatchPlan& plan) {
  int touched = 0;
  for (int e = 0; e < spec.experts; ++e)
    touched += plan.rows_of(e) > 0 ? 1 : 0;
  return 2.0 * 3.0 * spec.hidden *
         (static_cast<double>(touched) * spec.expert_ffn +
          static_cast<double>(spec.shared_experts) * spec.shared_ffn);
}

bool skip_without_gpu(benchmark::State& state) {
  if (cuda_device_count() > 0) return false;
  state.SkipWithError("no CUDA GPU on this machine");
  return true;
}

void BM_CudaMoeLayer(benchmark::State& state, std::string model, int tokens) {
  if (skip_without_gpu(state)) return;
  const ModelSpec spec = preset(model);
  const ExpertWeights& w = weights_of(model);
  const LayerCase c = make_case(spec, tokens);
  CudaBackendOptions o;
  o.mode = GemmMode::kGrouped;
  o.use_cupti = false;  // events: no tracing in the figure that is compared
  const auto backend = make_cuda_backend(o);
  backend->run_layer(c.input.hidden_states.data(), w, c.outcome, c.plan, nullptr);  // warm-up
  for (auto _ : state) {
    const LayerExecution e =
        backend->run_layer(c.input.hidden_states.data(), w, c.outcome, c.plan, nullptr);
    std::int64_t ns = e.dispatch_ns + e.shared_ns + e.combine_ns;
    for (auto t : e.expert_ns)
      ns += t;
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
  }
  state.counters["flops"] = layer_flops(spec, c.plan, tokens);
  state.counters["weight_bytes"] = weight_bytes_read(spec, c.plan);
  state.counters["TFLOPs"] = benchmark::Counter(layer_flops(spec, c.plan, tokens) * 1e-12,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// One GEMM [P, H] x [H, 3F] in bf16: the FLOPs of the layer's experts in one dense call.
void BM_CudaDenseGemm(benchmark::State& state, std::string model, int tokens) {
  if (skip_without_gpu(state)) return;
  const ModelSpec spec = preset(model);
  const LayerCase c = make_case(spec, tokens);
  const auto rows = static_cast<int>(c.plan.row_token.size());
  const int k = spec.hidden;
  const int n = 3 * spec.expert_ffn;
  DeviceBuffer a("dense A"), b("dense B"), out("dense C");
  a.reserve(static_cast<std::size_t>(rows) * k * 2);
  b.reserve(static_cast<std::size_t>(k) * n * 2);
  out.reserve(static_cast<std::size_t>(rows) * n * 2);
  check_cuda(cudaMemset(a.data(), 0, static_cast<std::size_t>(rows) * k * 2), "clear");
  check_cuda(cudaMemset(b.data(), 0, static_cast<std::size_t>(k) * n * 2), "clear");
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cuBLAS");
  cudaEvent_t start = nullptr, stop = nullptr;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  const float alpha = 1.0f, beta = 0.0f;
  auto gemm = [&] {
    check_cublas(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &alpha, b.data(),
                              CUDA_R_16BF, k, a.data(), CUDA_R_16BF, k, &beta, out.data(),
                              CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "dense GEMM");
  };
  gemm();
  for (auto _ : state) {
    cudaEventRecord(start);
    gemm();
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(static_cast<double>(ms) * 1e-3);
  }
  state.counters["flops"] = 2.0 * rows * static_cast<double>(k) * n;
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cublasDestroy(handle);
}

// A whole run_layer, by the wall clock, traced by CUPTI or timed by events.
void BM_CudaLayerWall(benchmark::State& state, bool cupti) {
  if (skip_without_gpu(state)) return;
  const ModelSpec spec = preset("olmoe-1b-7b");
  const ExpertWeights& w = weights_of("olmoe-1b-7b");
  const LayerCase c = make_case(spec, 4096);
  CudaBackendOptions o;
  o.mode = GemmMode::kGrouped;
  o.use_cupti = cupti;
  const auto backend = make_cuda_backend(o);
  if (cupti && backend->collector() != "cupti") {
    state.SkipWithError(("CUPTI unavailable: " + backend->describe()).c_str());
    return;
  }
  backend->run_layer(c.input.hidden_states.data(), w, c.outcome, c.plan, nullptr);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        backend->run_layer(c.input.hidden_states.data(), w, c.outcome, c.plan, nullptr));
  }
}

void register_all() {
  for (const char* model : kModels) {
    for (int tokens : kTokens) {
      const std::string suffix = std::string("/") + model + "/" + std::to_string(tokens);
      benchmark::RegisterBenchmark(("BM_CudaMoeLayer" + suffix).c_str(), BM_CudaMoeLayer, model,
                                   tokens)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("BM_CudaDenseGemm" + suffix).c_str(), BM_CudaDenseGemm, model,
                                   tokens)
          ->UseManualTime()
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("BM_CudaLayerWall/events", BM_CudaLayerWall, false)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_CudaLayerWall/cupti", BM_CudaLayerWall, true)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace
}  // namespace moescope::kernels

int main(int argc, char** argv) {
  moescope::kernels::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
