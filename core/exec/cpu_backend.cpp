#include "core/exec/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/base/cpu_features.h"
#include "core/base/error.h"
#include "core/exec/bf16.h"
#include "core/exec/combine_rows.h"
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

FfnKernels shared_expert_kernels(CpuPrecision precision, std::int64_t tokens,
                                 const ExpertWeights& w) {
  const std::uint64_t bytes =
      3ull * static_cast<std::uint64_t>(w.hidden) * static_cast<std::uint64_t>(w.shared_ffn) * 4ull;
  return choose_ffn_kernels(precision, tokens, 1, bytes);
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

  void begin_layer(int /*step*/, int /*layer*/, const Placement& placement) override {
    device_of_expert_ = placement.device_of_expert;
  }

  LayerExecution run_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                           const DispatchPlan& plan, const CancelFlag* cancel) override {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto T = static_cast<std::size_t>(plan.tokens);
    const std::size_t rows = plan.row_token.size();
    const bool bf16 = precision_ == CpuPrecision::kBf16;
    const FfnKernels kernels = expert_kernels(precision_, plan, w);
    const FfnKernels shared_kernels = shared_expert_kernels(precision_, plan.tokens, w);
    const int threads = loop_threads(kernels, shared_kernels, w);
    LayerExecution out;
    out.expert_ns.assign(static_cast<std::size_t>(plan.experts), 0);  // per group (slot)
    std::vector<int> groups;
    for (int g = 0; g < plan.experts; ++g) {
      if (plan.rows_of(g) > 0) groups.push_back(g);
    }
    prepare(w, plan, groups, kernels, shared_kernels, plan.tokens);

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
    const void* input = bf16 ? static_cast<const void*>(in_bf16) : in_f32;
    const std::vector<GroupSpan> spans =
        compute_groups(input, w, plan, groups, plan.offsets, kernels, permuted_out_.data(), cancel);
    for (std::size_t i = 0; i < groups.size(); ++i)
      out.expert_ns[static_cast<std::size_t>(groups[i])] = spans[i].end_ns - spans[i].start_ns;

    out.output.assign(T * H, 0.0f);
    if (w.shared_experts > 0) {
      throw_if_cancelled(cancel);
      profiler::CpuTimer timer;
      shared_experts(x, w, T, out.output.data(), threads, shared_kernels);
      out.shared_ns = timer.elapsed_ns();
    }

    // Fixed order (token, then device, then pair) and each token summed by one thread: the same
    // input always gives the same bits, and the ones ranks give (Backend::has_stages).
    profiler::CpuTimer combine;
    const auto& kept = outcome.kept;
    parallel_for(
        static_cast<std::int64_t>(T), threads, 64,
        [&](std::int64_t first_token, std::int64_t end_token) {
          auto by_token = [](const KeptPair& p, std::int64_t t) { return p.token < t; };
          std::vector<float> partial(H);
          std::vector<std::size_t> pairs;  // one token's pairs, by device
          auto it = std::lower_bound(kept.begin(), kept.end(), first_token, by_token);
          for (std::int64_t t = first_token; t < end_token; ++t) {
            pairs.clear();
            for (; it != kept.end() && it->token == t; ++it)
              pairs.push_back(static_cast<std::size_t>(it - kept.begin()));
            std::stable_sort(pairs.begin(), pairs.end(), [&](std::size_t a, std::size_t b) {
              return device_of(kept[a].expert) < device_of(kept[b].expert);
            });
            float* dst = &out.output[static_cast<std::size_t>(t) * H];
            for (std::size_t i = 0; i < pairs.size();) {
              const int device = device_of(kept[pairs[i]].expert);
              std::fill(partial.begin(), partial.end(), 0.0f);
              for (; i < pairs.size() && device_of(kept[pairs[i]].expert) == device; ++i) {
                const std::size_t pair = pairs[i];
                add_scaled_row(partial.data(), kept[pair].weight,
                               &permuted_out_[static_cast<std::size_t>(plan.pair_row[pair]) * H],
                               H);
              }
              add_row(dst, partial.data(), H);
            }
          }
        });
    out.combine_ns = combine.elapsed_ns();
    return out;
  }

  bool has_stages() const override { return true; }

  void prepare_stages(const ExpertWeights& w, const DispatchPlan& layer_plan,
                      const std::vector<int>& groups, std::int64_t shared_rows) override {
    const FfnKernels kernels = expert_kernels(precision_, layer_plan, w);
    const FfnKernels shared_kernels = shared_expert_kernels(precision_, layer_plan.tokens, w);
    prepare(w, layer_plan, groups, kernels, shared_kernels, shared_rows);
  }

  std::vector<GroupSpan> run_expert_groups(const float* rows_in, const ExpertWeights& w,
                                           const DispatchPlan& layer_plan,
                                           const std::vector<int>& groups, float* rows_out,
                                           const CancelFlag* cancel) override {
    const auto H = static_cast<std::size_t>(w.hidden);
    const FfnKernels kernels = expert_kernels(precision_, layer_plan, w);
    const FfnKernels shared_kernels = shared_expert_kernels(precision_, layer_plan.tokens, w);
    prepare(w, layer_plan, groups, kernels, shared_kernels, 0);  // done already: lookups only
    // compute_groups reads group g's rows at first_rows[g]: here the groups are packed.
    std::vector<std::int64_t> first_rows(static_cast<std::size_t>(layer_plan.experts) + 1, 0);
    std::int64_t rows = 0;
    for (int g : groups) {
      first_rows[static_cast<std::size_t>(g)] = rows;
      rows += layer_plan.rows_of(g);
    }
    const void* input = rows_in;
    if (precision_ == CpuPrecision::kBf16) {
      const auto n = static_cast<std::size_t>(rows) * H;
      permuted_in_.resize(n * 2 / sizeof(float) + 1);
      auto* bf16 = reinterpret_cast<std::uint16_t*>(permuted_in_.data());
      convert_to_bf16(rows_in, n, bf16, loop_threads(kernels, shared_kernels, w));
      input = bf16;
    }
    return compute_groups(input, w, layer_plan, groups, first_rows, kernels, rows_out, cancel);
  }

  void run_shared_experts(const float* x, std::int64_t tokens, std::int64_t layer_tokens,
                          const ExpertWeights& w, float* y) override {
    const FfnKernels shared_kernels = shared_expert_kernels(precision_, layer_tokens, w);
    if (precision_ == CpuPrecision::kBf16) weights_.convert(w, onednn_threads());
    for (int s = 0; s < w.shared_experts; ++s)  // done in prepare_stages: lookups only
      ffn_.prepare(precision_, tokens, w.shared_ffn, w.hidden, shared_kernels);
    const int threads = shared_kernels == FfnKernels::kOnednn ? 1 : onednn_threads();
    shared_experts(x, w, static_cast<std::size_t>(tokens), y, threads, shared_kernels);
  }

 private:
  // Where oneDNN computes the experts, the loops around them stay on this thread: its OpenMP
  // threads keep spinning for a while after each product, and worker threads woken beside
  // them on the same cores made layer times jump (up to 100 ms, a scheduler slice).
  int loop_threads(FfnKernels kernels, FfnKernels shared_kernels, const ExpertWeights& w) const {
    const bool onednn_layer = kernels == FfnKernels::kOnednn &&
                              (w.shared_experts == 0 || shared_kernels == FfnKernels::kOnednn);
    return onednn_layer ? 1 : onednn_threads();
  }

  // Converting the weights is loading them, and generating the products' code is preparing
  // them, not computing the layer: both outside every timer.
  // The shared experts are prepared for `shared_rows` rows (none: 0).
  void prepare(const ExpertWeights& w, const DispatchPlan& plan, const std::vector<int>& groups,
               FfnKernels kernels, FfnKernels shared_kernels, std::int64_t shared_rows) {
    if (precision_ == CpuPrecision::kBf16) weights_.convert(w, onednn_threads());
    ffn_.make_room(plan.experts + w.shared_experts);
    for (int g : groups)
      ffn_.prepare(precision_, plan.rows_of(g), w.ffn, w.hidden, kernels, w.mlp);
    for (int s = 0; s < w.shared_experts && shared_rows > 0; ++s)
      ffn_.prepare(precision_, shared_rows, w.shared_ffn, w.hidden, shared_kernels);
  }

  // The experts of `groups`, group g's rows from row first_rows[g] of `rows` (in the compute
  // precision) into the same rows of `output`; each group's span.
  std::vector<GroupSpan> compute_groups(const void* rows, const ExpertWeights& w,
                                        const DispatchPlan& plan, const std::vector<int>& groups,
                                        const std::vector<std::int64_t>& first_rows,
                                        FfnKernels kernels, float* output,
                                        const CancelFlag* cancel) {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto F = static_cast<std::size_t>(w.ffn);
    const bool bf16 = precision_ == CpuPrecision::kBf16;
    const auto* in_f32 = static_cast<const float*>(rows);
    const auto* in_bf16 = static_cast<const std::uint16_t*>(rows);
    std::vector<GroupSpan> spans;
    for (int g : groups) {
      throw_if_cancelled(cancel);
      const std::int64_t n = plan.rows_of(g);
      const auto first = static_cast<std::size_t>(first_rows[static_cast<std::size_t>(g)]) * H;
      const int e = plan.weights_of(g);
      const auto ue = static_cast<std::size_t>(e);
      const void* input = bf16 ? static_cast<const void*>(in_bf16 + first) : in_f32 + first;
      const void* gate_up =
          bf16 ? static_cast<const void*>(&weights_.gate_up[ue * 2 * F * H]) : w.expert_gate_up(e);
      const void* down =
          bf16 ? static_cast<const void*>(&weights_.down[ue * H * F]) : w.expert_down(e);
      const FfnActivation activation{w.mlp, w.expert_gate_up_bias(e), w.expert_down_bias(e)};
      GroupSpan span;
      span.start_ns = profiler::now_ns();
      ffn_.run(precision_, input, n, gate_up, down, w.ffn, w.hidden, output + first, kernels,
               activation);
      span.end_ns = profiler::now_ns();
      spans.push_back(span);
    }
    return spans;
  }

  // The device of a pair's (logical) expert in the layer's placement; 0 where none was given.
  int device_of(int expert) const {
    const auto e = static_cast<std::size_t>(expert);
    return e < device_of_expert_.size() ? device_of_expert_[e] : 0;
  }

  void shared_experts(const float* x, const ExpertWeights& w, std::size_t tokens, float* y,
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
  std::vector<int> device_of_expert_;  // the layer's placement (begin_layer)
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
