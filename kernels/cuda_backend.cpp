#include "kernels/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <optional>
#include <string>

#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_device.h"
#include "kernels/cuda_options.h"
#include "kernels/device_policy.h"
#include "kernels/gating_stage.h"
#include "kernels/layer_stages.h"
#include "kernels/layer_timing.h"
#include "kernels/layer_workspace.h"
#include "kernels/weight_cache.h"
#include "profiler/nvtx_range.h"

namespace moescope::kernels {

namespace {

using profiler::Phase;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaBackendOptions& options)
      : options_(options), device_(select_cuda_device(options.gpu)) {
    try {
      check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
      check_cublas(cublasCreate(&cublas_), "starting cuBLAS");
      check_cublas(cublasSetStream(cublas_, stream_), "binding cuBLAS to the stream");
    } catch (...) {
      release();  // the destructor does not run for a constructor that throws
      throw;
    }
    timing_.emplace(stream_, options_.use_cupti);
  }

  ~CudaBackend() override {
    timing_.reset();  // CUPTI and the events go before the stream they watch
    release();
  }

  std::string name() const override {
    return options_.mode == GemmMode::kGrouped ? "cuda-grouped" : "cuda";
  }

  std::string describe() const override {
    return "CUDA " + device_.name + " (GPU " + std::to_string(device_.index) + ", sm_" +
           std::to_string(device_.sm_major) + std::to_string(device_.sm_minor) + ", " +
           (options_.precision == Precision::kBf16 ? "bf16" : "fp32") + ", " +
           (options_.mode == GemmMode::kGrouped ? "grouped GEMM, expert times apportioned by rows"
                                                : "one GEMM pair per expert") +
           (!options_.gpu_routing ? ", gating and policy on the host"
            : gating_.fell_back_to_host()
                ? ", gating on the host (beyond 256 experts or top-32), policy on the GPU"
                : ", gating and policy on the GPU") +
           ", " + timing_->describe() + ")";
  }

  std::string machine() const override {
    return device_.name + " (sm_" + std::to_string(device_.sm_major) +
           std::to_string(device_.sm_minor) + "), " +
           (options_.precision == Precision::kBf16 ? "bf16" : "fp32") + ", " +
           (options_.mode == GemmMode::kGrouped ? "grouped GEMM" : "one GEMM pair per expert");
  }

  profiler::Timing timing() const override { return profiler::Timing::kComposed; }

  std::string collector() const override { return timing_->collector(); }

  void begin_layer(int step, int layer, const Placement& placement) override {
    timing_->begin_layer(step, layer, placement);
  }

  RouterOutput route(const float* logits, int tokens, int experts, int top_k,
                     const RouterConfig& router, const float* selection_bias, int layer) override {
    check_router_input(logits, tokens, experts, top_k, layer, selection_bias);
    validate(router, experts, top_k);
    if (!options_.gpu_routing || !gating_.runs_on_gpu(experts, top_k, router.groups))
      return Backend::route(logits, tokens, experts, top_k, router, selection_bias, layer);
    select_device();
    return gating_.run(logits, tokens, experts, top_k, router, selection_bias, stream_);
  }

  PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                             const Placement& placement) override {
    if (!options_.gpu_routing) return Backend::apply_policy(router, config, placement);
    select_device();
    profiler::NvtxRange range("policy " + policy_label(config));
    return apply_policy_on_gpu(router, config, placement, stream_);
  }

  void check_model(const ModelSpec& spec) const override { require_plain_experts(spec.mlp); }

  LayerExecution run_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                           const DispatchPlan& plan, const CancelFlag* cancel) override {
    // A backend's first layer runs twice. The first pass loads the kernels (CUDA loads modules
    // lazily) and lets cuBLAS choose its algorithms: work that is not the layer's and must not
    // be timed as if it were.
    if (!warmed_up_) {
      execute_layer(x, w, outcome, plan, cancel);
      warmed_up_ = true;
    }
    return execute_layer(x, w, outcome, plan, cancel);
  }

 private:
  // gpt-oss's experts need a bias and a clamp per expert in the GEMM epilogues, not written
  // for the GPU yet (no GPU to test them on).
  static void require_plain_experts(const ExpertMlp& mlp) {
    if (!mlp.plain()) {
      throw Error("the CUDA backend computes SwiGLU experts without biases; this model's are " +
                  moescope::describe(mlp) + " (use --backend cpu)");
    }
  }

  LayerExecution execute_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                               const DispatchPlan& plan, const CancelFlag* cancel) {
    require_plain_experts(w.mlp);
    if (!plan.group_expert.empty() || plan.experts != w.experts) {
      throw Error(
          "replicated experts run on the CPU backend for now (--backend cpu); the CUDA "
          "backend computes one group of rows per expert");
    }
    select_device();
    if (layer_in_flight_) discard_unfinished_layer();
    layer_in_flight_ = true;
    weights_.upload(w, stream_);
    workspace_.reserve_for(layer_shape(w, outcome, plan, options_.mode));
    workspace_.upload_inputs(x, w, outcome, plan, stream_);
    if (options_.mode == GemmMode::kGrouped)
      workspace_.point_grouped_gemms(w, plan, weights_, stream_);
    const std::int64_t tokens = plan.tokens;
    const auto rows = static_cast<std::int64_t>(plan.row_token.size());
    const LayerStages stages(w, weights_, workspace_.buffers(), options_.precision, stream_,
                             cublas_);

    LayerTiming& timing = *timing_;
    using Tagged = LayerTiming::Tagged;
    LayerMarks marks;
    marks.experts.resize(static_cast<std::size_t>(w.experts));
    timing.reset_marks();
    marks.dispatch = timing.span([&] {
      Tagged tag(timing, Phase::kDispatch, -1, "dispatch");
      stages.dispatch(rows);
    });
    if (options_.mode == GemmMode::kPerExpert) {
      for (int e = 0; e < w.experts; ++e) {
        const std::int64_t n = plan.rows_of(e);
        if (n == 0) continue;
        throw_if_cancelled(cancel);
        Tagged tag(timing, Phase::kExpert, e, "expert " + std::to_string(e));
        marks.experts[static_cast<std::size_t>(e)] =
            timing.span([&] { stages.expert(e, plan.offsets[static_cast<std::size_t>(e)], n); });
      }
    } else {
      throw_if_cancelled(cancel);
      Tagged tag(timing, Phase::kExpert, -1, "experts (grouped)");
      marks.all_experts = timing.span([&] { stages.experts_grouped(rows); });
    }
    if (w.shared_experts > 0) {
      throw_if_cancelled(cancel);
      Tagged tag(timing, Phase::kSharedExpert, -1, "shared experts");
      marks.shared = timing.span([&] { stages.shared_experts(tokens); });
    }
    marks.combine = timing.span([&] {
      Tagged tag(timing, Phase::kCombine, -1, "combine");
      stages.combine(tokens);
    });
    check_cuda(cudaGetLastError(), "launching the layer's kernels");

    LayerExecution out;
    out.output.resize(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(w.hidden));
    check_cuda(cudaMemcpyAsync(out.output.data(), workspace_.buffers().y.data(),
                               out.output.size() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
               "reading the layer's output");
    check_cuda(cudaStreamSynchronize(stream_), "running the layer");

    layer_in_flight_ = false;
    timing.collect(marks, plan, w.experts, out);
    return out;
  }

  void select_device() {
    check_cuda(cudaSetDevice(device_.index), "selecting GPU " + std::to_string(device_.index));
  }

  // A layer that threw (a cancel, an error) may have left work and records behind: wait for
  // the work, and drop the records so they are not counted in this layer.
  void discard_unfinished_layer() {
    cudaStreamSynchronize(stream_);
    cudaGetLastError();
    timing_->discard_records();
    layer_in_flight_ = false;
  }

  void release() {
    if (cublas_ != nullptr) cublasDestroy(cublas_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    cublas_ = nullptr;
    stream_ = nullptr;
  }

  CudaBackendOptions options_;
  CudaDevice device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::optional<LayerTiming> timing_;  // made once the stream exists
  GatingStage gating_;
  WeightCache weights_{options_.precision};
  LayerWorkspace workspace_{options_.precision};
  bool layer_in_flight_ = false;
  bool warmed_up_ = false;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const CudaBackendOptions& options) {
  return std::make_unique<CudaBackend>(options);
}

void register_cuda_backends() {
  register_backend("cuda", [](const std::string& options) {
    return make_cuda_backend(parse_cuda_options(options, GemmMode::kPerExpert));
  });
  register_backend("cuda-grouped", [](const std::string& options) {
    return make_cuda_backend(parse_cuda_options(options, GemmMode::kGrouped));
  });
}

}  // namespace moescope::kernels
