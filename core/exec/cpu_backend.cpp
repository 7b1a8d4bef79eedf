#include "core/exec/cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/base/blas.h"
#include "core/exec/cpu_info.h"
#include "core/exec/parallel_for.h"
#include "core/exec/skinny_matmul.h"
#include "profiler/cpu_timer.h"

namespace moescope {

namespace {

// Large enough that the products stay compute-bound, small enough that the [rows, 2F]
// scratch of a Mixtral-sized expert stays around 60 MB.
constexpr std::int64_t kRowBlock = 512;

// act = silu(gate) * up, in place in the gate half of each [2F] row.
void silu_times_up(float* scratch, std::size_t rows, std::size_t F) {
  parallel_for(static_cast<std::int64_t>(rows), blas::threads(), 16,
               [=](std::int64_t begin, std::int64_t end) {
                 for (auto r = static_cast<std::size_t>(begin); r < static_cast<std::size_t>(end);
                      ++r) {
                   float* row = scratch + r * 2 * F;
                   for (std::size_t f = 0; f < F; ++f) {
                     const float g = row[f];
                     row[f] = g / (1.0f + std::exp(-g)) * row[F + f];
                   }
                 }
               });
}

}  // namespace

void swiglu_ffn(const float* x, std::int64_t rows, const float* gate_up, const float* down, int ffn,
                int hidden, float* y) {
  const auto F = static_cast<std::size_t>(ffn);
  thread_local std::vector<float> scratch;
  if (rows <= kSkinnyMaxRows) {
    // Few tokens: the expert is bound by reading its weights, which sgemm would first pack.
    const int threads = blas::threads();
    const auto n = static_cast<int>(rows);
    scratch.resize(static_cast<std::size_t>(rows) * 2 * F);
    skinny_matmul(x, static_cast<std::size_t>(hidden), n, hidden, gate_up, 2 * ffn, scratch.data(),
                  2 * F, threads);
    silu_times_up(scratch.data(), static_cast<std::size_t>(rows), F);
    skinny_matmul(scratch.data(), 2 * F, n, ffn, down, hidden, y, static_cast<std::size_t>(hidden),
                  threads);
    return;
  }
  scratch.resize(static_cast<std::size_t>(std::min(rows, kRowBlock)) * 2 * F);
  for (std::int64_t first = 0; first < rows; first += kRowBlock) {
    const auto n = static_cast<int>(std::min(kRowBlock, rows - first));
    const float* xb = x + static_cast<std::size_t>(first) * static_cast<std::size_t>(hidden);
    float* yb = y + static_cast<std::size_t>(first) * static_cast<std::size_t>(hidden);
    // [n, 2F] = x[n, H] . gate_up[2F, H]^T: the gate in columns 0..F-1, up in F..2F-1.
    blas::multiply_transposed(n, 2 * ffn, hidden, xb, hidden, gate_up, hidden, 0.0f, scratch.data(),
                              2 * ffn);
    silu_times_up(scratch.data(), static_cast<std::size_t>(n), F);
    // y[n, H] = act[n, F] . down[H, F]^T, reading act in place with a stride of 2F.
    blas::multiply_transposed(n, hidden, ffn, scratch.data(), 2 * ffn, down, ffn, 0.0f, yb, hidden);
  }
}

namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }

  std::string describe() const override {
    // "CPU (OpenBLAS Cooperlake kernels, 2 threads; chosen from the CPU's features)"
    return "CPU (OpenBLAS " + blas::kernels_brief() + "; " + blas::kernels().reason + ")";
  }

  std::string machine() const override {
    // The same words as before the kernels were chosen by features: cost models match on them.
    return cpu_model_name() + ", OpenBLAS " + blas::kernels_brief();
  }

  profiler::Timing timing() const override { return profiler::Timing::kComposed; }

  std::string collector() const override { return "cpu-timer"; }

  LayerExecution run_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                           const DispatchPlan& plan, const CancelFlag* cancel) override {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto T = static_cast<std::size_t>(plan.tokens);
    const std::size_t rows = plan.row_token.size();
    LayerExecution out;
    out.expert_ns.assign(static_cast<std::size_t>(w.experts), 0);

    profiler::CpuTimer dispatch;
    permuted_in_.resize(rows * H);
    const int threads = blas::threads();
    parallel_for(
        static_cast<std::int64_t>(rows), threads, 64, [&](std::int64_t begin, std::int64_t end) {
          for (auto r = static_cast<std::size_t>(begin); r < static_cast<std::size_t>(end); ++r) {
            std::memcpy(&permuted_in_[r * H], x + static_cast<std::size_t>(plan.row_token[r]) * H,
                        H * sizeof(float));
          }
        });
    out.dispatch_ns = dispatch.elapsed_ns();

    permuted_out_.resize(rows * H);
    for (int e = 0; e < w.experts; ++e) {
      const std::int64_t n = plan.rows_of(e);
      if (n == 0) continue;
      throw_if_cancelled(cancel);
      const auto first = static_cast<std::size_t>(plan.offsets[static_cast<std::size_t>(e)]) * H;
      profiler::CpuTimer timer;
      swiglu_ffn(&permuted_in_[first], n, w.expert_gate_up(e), w.expert_down(e), w.ffn, w.hidden,
                 &permuted_out_[first]);
      out.expert_ns[static_cast<std::size_t>(e)] = timer.elapsed_ns();
    }

    out.output.assign(T * H, 0.0f);
    if (w.shared_experts > 0) {
      throw_if_cancelled(cancel);
      profiler::CpuTimer timer;
      run_shared_experts(x, w, T, out.output.data());
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
  void run_shared_experts(const float* x, const ExpertWeights& w, std::size_t tokens, float* y) {
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto Fs = static_cast<std::size_t>(w.shared_ffn);
    shared_out_.resize(tokens * H);
    for (std::size_t s = 0; s < static_cast<std::size_t>(w.shared_experts); ++s) {
      swiglu_ffn(x, static_cast<std::int64_t>(tokens), &w.shared_gate_up[s * 2 * Fs * H],
                 &w.shared_down[s * H * Fs], w.shared_ffn, w.hidden, shared_out_.data());
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

  // Reused across layers so a run allocates its buffers once.
  std::vector<float> permuted_in_;
  std::vector<float> permuted_out_;
  std::vector<float> shared_out_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() {
  return std::make_unique<CpuBackend>();
}

}  // namespace moescope
