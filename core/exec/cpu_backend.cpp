#include "core/exec/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/base/cpu_features.h"
#include "core/base/error.h"
#include "core/exec/bf16.h"
#include "core/exec/cpu_info.h"
#include "core/exec/onednn_matmul.h"
#include "core/exec/parallel_for.h"
#include "core/exec/skinny_matmul.h"
#include "core/exec/swiglu_ffn.h"
#include "profiler/cpu_timer.h"

namespace moescope {

namespace {

// The weights in bf16, converted once per weight set: one set serves every layer of a run.
class Bf16Weights {
 public:
  void convert(const ExpertWeights& w, int threads) {
    std::vector<float> fingerprint = weight_fingerprint(w);
    if (fingerprint == fingerprint_) return;
    fingerprint_.clear();
    for (auto [from, to] :
         {std::pair{&w.gate_up, &gate_up}, std::pair{&w.down, &down},
          std::pair{&w.shared_gate_up, &shared_gate_up}, std::pair{&w.shared_down, &shared_down}}) {
      to->resize(from->size());
      convert_to_bf16(from->data(), from->size(), to->data(), threads);
    }
    fingerprint_ = std::move(fingerprint);
  }

  std::vector<std::uint16_t> gate_up, down, shared_gate_up, shared_down;

 private:
  std::vector<float> fingerprint_;
};

// The kernels of a layer's experts (swiglu_ffn.h says why one choice for the whole layer).
FfnKernels expert_kernels(CpuPrecision precision, const DispatchPlan& plan,
                          const ExpertWeights& w) {
  // Distinct experts' weights with rows: replicas of one expert read the same weights, and a
  // replicated layer must choose the kernels its unreplicated layer chooses (the same bits).
  std::vector<char> used(static_cast<std::size_t>(w.experts), 0);
  std::int64_t touched = 0;
  for (int g = 0; g < plan.experts; ++g) {
    auto& u = used[static_cast<std::size_t>(plan.weights_of(g))];
    if (plan.rows_of(g) > 0 && !u) touched += (u = 1);
  }
  return choose_ffn_kernels(precision, static_cast<std::int64_t>(plan.row_token.size()), touched,
                            w.bytes_per_expert());
}

FfnKernels shared_expert_kernels(CpuPrecision precision, const DispatchPlan& plan,
                                 const ExpertWeights& w) {
  const std::uint64_t bytes =
      3ull * static_cast<std::uint64_t>(w.hidden) * static_cast<std::uint64_t>(w.shared_ffn) * 4ull;
  return choose_ffn_kernels(precision, plan.tokens, 1, bytes);
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(CpuPrecision precision) : precision_(precision) {}

  std::string name() const override { return "cpu"; }

  std::string describe() const override {
    // "CPU (oneDNN brg:avx512_core_bf16, bf16, 2 threads)"
    return "CPU (oneDNN " + OnednnMatmul::kernels(precision_) + ", " + precision_name(precision_) +
           ", " + std::to_string(onednn_threads()) + " threads)";
  }

  std::string machine() const override {
    return cpu_model_name() + ", oneDNN " + onednn_isa() + " kernels, " +
           precision_name(precision_) + ", " + std::to_string(onednn_threads()) + " threads";
  }

  profiler::Timing timing() const override { return profiler::Timing::kComposed; }

  std::string collector() const override { return "cpu-timer"; }

  LayerExecution run_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                           const DispatchPlan& plan, const CancelFlag* cancel) override {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto T = static_cast<std::size_t>(plan.tokens);
    const std::size_t rows = plan.row_token.size();
    const bool bf16 = precision_ == CpuPrecision::kBf16;
    const FfnKernels kernels = expert_kernels(precision_, plan, w);
    const FfnKernels shared_kernels = shared_expert_kernels(precision_, plan, w);
    // Where oneDNN computes the experts, the loops around them stay on this thread: its OpenMP
    // threads keep spinning for a while after each product, and worker threads woken beside
    // them on the same cores made layer times jump (up to 100 ms, a scheduler slice).
    const bool onednn_layer = kernels == FfnKernels::kOnednn &&
                              (w.shared_experts == 0 || shared_kernels == FfnKernels::kOnednn);
    const int threads = onednn_layer ? 1 : onednn_threads();
    LayerExecution out;
    out.expert_ns.assign(static_cast<std::size_t>(plan.experts), 0);  // per group (slot)
    // Converting the weights is loading them, and generating the products' code is preparing
    // them, not computing the layer: both outside every timer.
    if (bf16) weights_.convert(w, onednn_threads());
    ffn_.make_room(plan.experts + w.shared_experts);
    for (int g = 0; g < plan.experts; ++g)
      ffn_.prepare(precision_, plan.rows_of(g), w.ffn, w.hidden, kernels, w.mlp);
    for (int s = 0; s < w.shared_experts; ++s)
      ffn_.prepare(precision_, plan.tokens, w.shared_ffn, w.hidden, shared_kernels);

    // Each expert's rows together, already in the precision the experts compute in.
    profiler::CpuTimer dispatch;
    permuted_in_.resize(rows * H * (bf16 ? 2 : 4) / sizeof(float) + 1);
    auto* in_f32 = permuted_in_.data();
    auto* in_bf16 = reinterpret_cast<std::uint16_t*>(permuted_in_.data());
    parallel_for(
        static_cast<std::int64_t>(rows), threads, 64, [&](std::int64_t begin, std::int64_t end) {
          for (auto r = static_cast<std::size_t>(begin); r < static_cast<std::size_t>(end); ++r) {
            const float* src = x + static_cast<std::size_t>(plan.row_token[r]) * H;
            if (bf16) {
              for (std::size_t h = 0; h < H; ++h)
                in_bf16[r * H + h] = to_bf16(src[h]);
            } else {
              std::memcpy(&in_f32[r * H], src, H * sizeof(float));
            }
          }
        });
    out.dispatch_ns = dispatch.elapsed_ns();

    permuted_out_.resize(rows * H);
    const auto F = static_cast<std::size_t>(w.ffn);
    for (int g = 0; g < plan.experts; ++g) {
      const std::int64_t n = plan.rows_of(g);
      if (n == 0) continue;
      throw_if_cancelled(cancel);
      const auto first = static_cast<std::size_t>(plan.offsets[static_cast<std::size_t>(g)]) * H;
      const int e = plan.weights_of(g);
      const auto ue = static_cast<std::size_t>(e);
      const void* input = bf16 ? static_cast<const void*>(in_bf16 + first) : in_f32 + first;
      const void* gate_up =
          bf16 ? static_cast<const void*>(&weights_.gate_up[ue * 2 * F * H]) : w.expert_gate_up(e);
      const void* down =
          bf16 ? static_cast<const void*>(&weights_.down[ue * H * F]) : w.expert_down(e);
      const FfnActivation activation{w.mlp, w.expert_gate_up_bias(e), w.expert_down_bias(e)};
      profiler::CpuTimer timer;
      ffn_.run(precision_, input, n, gate_up, down, w.ffn, w.hidden, &permuted_out_[first], kernels,
               activation);
      out.expert_ns[static_cast<std::size_t>(g)] = timer.elapsed_ns();
    }

    out.output.assign(T * H, 0.0f);
    if (w.shared_experts > 0) {
      throw_if_cancelled(cancel);
      profiler::CpuTimer timer;
      run_shared_experts(x, w, T, out.output.data(), threads, shared_kernels);
      out.shared_ns = timer.elapsed_ns();
    }

    // Fixed order (token, then expert) and each token summed by one thread: the same input
    // always gives the same bits.
    profiler::CpuTimer combine;
    const auto& kept = outcome.kept;
    parallel_for(
        static_cast<std::int64_t>(T), threads, 64,
        [&](std::int64_t first_token, std::int64_t end_token) {
          auto by_token = [](const KeptPair& p, std::int64_t t) { return p.token < t; };
          const auto first = std::lower_bound(kept.begin(), kept.end(), first_token, by_token);
          const auto last = std::lower_bound(first, kept.end(), end_token, by_token);
          for (auto it = first; it != last; ++it) {
            const auto i = static_cast<std::size_t>(it - kept.begin());
            const float* src = &permuted_out_[static_cast<std::size_t>(plan.pair_row[i]) * H];
            float* dst = &out.output[static_cast<std::size_t>(it->token) * H];
            for (std::size_t h = 0; h < H; ++h)
              dst[h] += it->weight * src[h];
          }
        });
    out.combine_ns = combine.elapsed_ns();
    return out;
  }

 private:
  void run_shared_experts(const float* x, const ExpertWeights& w, std::size_t tokens, float* y,
                          int threads, FfnKernels kernels) {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto Fs = static_cast<std::size_t>(w.shared_ffn);
    const bool bf16 = precision_ == CpuPrecision::kBf16;
    if (bf16) {
      shared_in_.resize(tokens * H);
      convert_to_bf16(x, tokens * H, shared_in_.data(), threads);
    }
    shared_out_.resize(tokens * H);
    for (std::size_t s = 0; s < static_cast<std::size_t>(w.shared_experts); ++s) {
      const void* input = bf16 ? static_cast<const void*>(shared_in_.data()) : x;
      const void* gate_up = bf16
                                ? static_cast<const void*>(&weights_.shared_gate_up[s * 2 * Fs * H])
                                : &w.shared_gate_up[s * 2 * Fs * H];
      const void* down = bf16 ? static_cast<const void*>(&weights_.shared_down[s * H * Fs])
                              : &w.shared_down[s * H * Fs];
      ffn_.run(precision_, input, static_cast<std::int64_t>(tokens), gate_up, down, w.shared_ffn,
               w.hidden, shared_out_.data(), kernels);
      for (std::size_t t = 0; t < tokens; ++t) {
        float scale = 1.0f;
        if (w.shared_gate_sigmoid) {
          float g = 0.0f;
          for (std::size_t h = 0; h < H; ++h)
            g += w.shared_gate[h] * x[t * H + h];
          scale = 1.0f / (1.0f + std::exp(-g));
        }
        for (std::size_t h = 0; h < H; ++h)
          y[t * H + h] += scale * shared_out_[t * H + h];
      }
    }
  }

  CpuPrecision precision_;
  SwigluFfn ffn_;
  Bf16Weights weights_;
  // Reused across layers so a run allocates its buffers once.
  std::vector<float> permuted_in_;  // fp32, or bf16 packed two to a float
  std::vector<float> permuted_out_;
  std::vector<std::uint16_t> shared_in_;
  std::vector<float> shared_out_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(CpuPrecision precision) {
  return std::make_unique<CpuBackend>(precision);
}

CpuPrecision parse_cpu_options(const std::string& options) {
  if (options.empty() || options == "fp32") return CpuPrecision::kFp32;
  if (options != "bf16") {
    throw Error("unknown CPU backend option '" + options + "' (expected fp32 or bf16)");
  }
  const CpuFeatures features = detect_cpu_features();
  if (!features.avx512_bf16) {
    throw Error("backend cpu:bf16 needs a CPU with AVX-512 BF16 instructions; this one has " +
                describe(features) + " (use --backend cpu for fp32)");
  }
  return CpuPrecision::kBf16;
}

}  // namespace moescope
