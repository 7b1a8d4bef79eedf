// Checkpoint weights (README, "Real models"): loading one MoE layer's experts from a bf16
// safetensors checkpoint against reading the same bytes with plain sequential reads (target:
// within 1.5x), the peak memory of a load against the layer's fp32 bytes (target: under 1.5x),
// and the CPU layer with the checkpoint's weights against synthetic weights of the same shapes
// (target: the same speed). `scripts/bench_checkpoint.py` prints the ratios.
//
// The checkpoint is written once to $TMPDIR/moescope-bench-checkpoint: an OLMoE-type model of
// 64 experts, H 1024, F 512 (201 MB of bf16 per layer, 403 MB in fp32), per-expert tensors.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/checkpoint_weights.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/hf_config.h"
#include "core/moe/dispatch_plan.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
constexpr int kExperts = 64, kHidden = 1024, kFfn = 512, kTopK = 8, kTokens = 256;

std::string checkpoint_folder() {
  static const std::string folder = [] {
    const fs::path dir = fs::temp_directory_path() / "moescope-bench-checkpoint";
    const fs::path weights = dir / "model.safetensors";
    if (fs::exists(weights)) return dir.string();
    fs::create_directories(dir);
    std::ofstream(dir / "config.json")
        << R"({"model_type": "olmoe", "num_hidden_layers": 1, "hidden_size": )" << kHidden
        << R"(, "intermediate_size": )" << kFfn << R"(, "num_experts": )" << kExperts
        << R"(, "num_experts_per_tok": )" << kTopK << R"(, "norm_topk_prob": false})";
    Rng rng({5});
    std::vector<TensorToWrite> tensors;
    for (int e = 0; e < kExperts; ++e) {
      const std::string p = "model.layers.0.mlp.experts." + std::to_string(e) + ".";
      for (const char* name : {"gate_proj", "up_proj", "down_proj"}) {
        const bool down = std::string(name) == "down_proj";
        TensorToWrite t{p + name + ".weight",
                        down ? std::vector<std::int64_t>{kHidden, kFfn}
                             : std::vector<std::int64_t>{kFfn, kHidden},
                        std::vector<float>(static_cast<std::size_t>(kHidden) * kFfn), "BF16"};
        const float scale = 1.0f / std::sqrt(static_cast<float>(down ? kFfn : kHidden));
        for (auto& v : t.values)
          v = static_cast<float>(rng.normal()) * scale;
        tensors.push_back(std::move(t));
      }
    }
    write_safetensors((dir / "model.safetensors.partial").string(), tensors);
    fs::rename(dir / "model.safetensors.partial", weights);
    return dir.string();
  }();
  return folder;
}

// Resets the process's peak resident memory (Linux clear_refs 5), then reads it back in bytes.
void reset_peak_memory() {
  std::ofstream("/proc/self/clear_refs") << "5";
}
std::uint64_t peak_memory_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    std::uint64_t kb = 0;
    if (key == "VmHWM:" && status >> kb) return kb * 1024;
  }
  return 0;
}
std::uint64_t resident_memory_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    std::uint64_t kb = 0;
    if (key == "VmRSS:" && status >> kb) return kb * 1024;
  }
  return 0;
}

// A layer loaded into the memory of the layer before, as a run loads them (the steady state).
void BM_LoadLayer(benchmark::State& state) {
  const std::string folder = checkpoint_folder();
  const ModelSpec spec = load_hf_config(folder);
  const CheckpointWeights checkpoint(folder, spec);
  ExpertWeights w = checkpoint.layer(0);
  for (auto _ : state) {
    checkpoint.load_layer(0, w);
    benchmark::DoNotOptimize(w.gate_up.data());
  }
  state.counters["file_bytes"] = static_cast<double>(fs::file_size(folder + "/model.safetensors"));
}
BENCHMARK(BM_LoadLayer)->UseRealTime()->Unit(benchmark::kMillisecond);

// The first layer of a run, into new memory (its pages are touched for the first time), and the
// peak resident memory that takes over the layer's fp32 bytes.
void BM_LoadFirstLayer(benchmark::State& state) {
  const std::string folder = checkpoint_folder();
  const ModelSpec spec = load_hf_config(folder);
  const CheckpointWeights checkpoint(folder, spec);
  const double fp32_bytes = static_cast<double>(expert_weight_bytes(spec));
  double peak_extra = 0;
  for (auto _ : state) {
    state.PauseTiming();
    reset_peak_memory();
    const std::uint64_t before = resident_memory_bytes();
    state.ResumeTiming();
    ExpertWeights w = checkpoint.layer(0);
    benchmark::DoNotOptimize(w.gate_up.data());
    state.PauseTiming();
    peak_extra = std::max(peak_extra, static_cast<double>(peak_memory_bytes() - before));
    w = {};
    state.ResumeTiming();
  }
  state.counters["peak_over_fp32_layer"] = peak_extra / fp32_bytes;
}
BENCHMARK(BM_LoadFirstLayer)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same bytes with plain sequential read(2) calls into one buffer.
void BM_SequentialRead(benchmark::State& state) {
  const std::string path = checkpoint_folder() + "/model.safetensors";
  std::vector<char> buffer(fs::file_size(path));
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    std::size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n =
          ::read(fd, buffer.data() + done, std::min<std::size_t>(8 << 20, buffer.size() - done));
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.counters["file_bytes"] = static_cast<double>(buffer.size());
}
BENCHMARK(BM_SequentialRead)->UseRealTime()->Unit(benchmark::kMillisecond);

// One CPU layer (fp32 or bf16 experts) at T = 256, the same routing, either weights.
void BM_CpuLayer(benchmark::State& state, bool checkpoint_weights, CpuPrecision precision) {
  const std::string folder = checkpoint_folder();
  const ModelSpec spec = load_hf_config(folder);
  const ExpertWeights weights = checkpoint_weights ? CheckpointWeights(folder, spec).layer(0)
                                                   : make_synthetic_weights(spec, 3);
  auto source = make_synthetic_routing(spec, {kTokens, 1, 0.6});
  const LayerInput in = source->layer(0, 0);
  const RouterOutput router =
      route(in.logits.data(), kTokens, spec.experts, spec.top_k, spec.router, nullptr);
  const PolicyOutcome outcome =
      apply_policy(router, PolicyConfig{}, balanced_placement(spec.experts, 8));
  const DispatchPlan plan = make_dispatch_plan(outcome, spec.experts, kTokens);
  auto backend = make_cpu_backend(precision);
  backend->run_layer(in.hidden_states.data(), weights, outcome, plan, nullptr);  // warm-up
  for (auto _ : state) {
    auto run = backend->run_layer(in.hidden_states.data(), weights, outcome, plan, nullptr);
    benchmark::DoNotOptimize(run.output.data());
  }
}
BENCHMARK_CAPTURE(BM_CpuLayer, synthetic_fp32, false, CpuPrecision::kFp32)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CpuLayer, checkpoint_fp32, true, CpuPrecision::kFp32)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CpuLayer, synthetic_bf16, false, CpuPrecision::kBf16)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CpuLayer, checkpoint_bf16, true, CpuPrecision::kBf16)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moescope
BENCHMARK_MAIN();
