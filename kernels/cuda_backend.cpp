#include "kernels/cuda_backend.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_device.h"
#include "kernels/device_buffer.h"
#include "kernels/device_policy.h"
#include "kernels/expert_gemm.h"
#include "kernels/gating.h"
#include "profiler/cuda_event_timer.h"
#include "profiler/cupti_collector.h"
#include "profiler/nvtx_range.h"

namespace moescope::kernels {

namespace {

using profiler::Phase;

// Weights go up in slices of this many floats, so the fp32 staging stays small.
constexpr std::size_t kUploadSlice = std::size_t{64} << 20;

std::size_t bytes_of(std::size_t elements, Precision p) {
  return elements * element_bytes(p);
}

// A cheap identity of a weight set: its shapes, sizes and a sample of its values, so that the
// GPU copy is reused across the layers of a run and never mistaken for another set's.
std::vector<float> weight_fingerprint(const ExpertWeights& w) {
  std::vector<float> f = {static_cast<float>(w.hidden),     static_cast<float>(w.ffn),
                          static_cast<float>(w.experts),    static_cast<float>(w.shared_experts),
                          static_cast<float>(w.shared_ffn), w.shared_gate_sigmoid ? 1.0f : 0.0f};
  for (const auto* v : {&w.gate_up, &w.down, &w.shared_gate_up, &w.shared_down, &w.shared_gate}) {
    f.push_back(static_cast<float>(v->size()));
    for (std::size_t i = 0; i < v->size(); i += std::max<std::size_t>(1, v->size() / 16))
      f.push_back((*v)[i]);
  }
  return f;
}

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
    events_.emplace(stream_);
    if (options_.use_cupti) {
      try {
        cupti_ = profiler::CuptiCollector::start();
      } catch (const std::exception& e) {
        cupti_unavailable_ = e.what();
      }
    } else {
      cupti_unavailable_ = "CUDA events were asked for";
    }
  }

  ~CudaBackend() override {
    cupti_.reset();
    events_.reset();
    release();
  }

  std::string name() const override {
    return options_.mode == GemmMode::kGrouped ? "cuda-grouped" : "cuda";
  }

  std::string describe() const override {
    std::string d =
        "CUDA " + device_.name + " (GPU " + std::to_string(device_.index) + ", sm_" +
        std::to_string(device_.sm_major) + std::to_string(device_.sm_minor) + ", " +
        (options_.precision == Precision::kBf16 ? "bf16" : "fp32") + ", " +
        (options_.mode == GemmMode::kGrouped ? "grouped GEMM, expert times apportioned by rows"
                                             : "one GEMM pair per expert") +
        (!options_.gpu_routing ? ", gating and policy on the host"
         : gating_on_host_     ? ", gating on the host (beyond 256 experts or top-32), policy on "
                                 "the GPU"
                               : ", gating and policy on the GPU") +
        ", timed by " + collector();
    if (!cupti_) d += "; CUPTI unavailable: " + cupti_unavailable_;
    if (cupti_dropped_ > 0) {
      d += "; CUPTI dropped " + std::to_string(cupti_dropped_) + " records, " +
           std::to_string(layers_timed_by_events_) + " layers timed by CUDA events instead";
    }
    return d + ")";
  }

  profiler::Timing timing() const override { return profiler::Timing::kComposed; }

  std::string collector() const override { return cupti_ ? "cupti" : "cuda-events"; }

  void begin_layer(int step, int layer, const Placement& placement) override {
    if (step > profiler::kMaxTagStep || layer > profiler::kMaxTagLayer ||
        placement.devices - 1 > profiler::kMaxTagDevice ||
        placement.experts() - 1 > profiler::kMaxTagExpert) {
      throw Error("the CUDA backend tags kernels with steps up to " +
                  std::to_string(profiler::kMaxTagStep) + ", layers up to " +
                  std::to_string(profiler::kMaxTagLayer) + ", devices up to " +
                  std::to_string(profiler::kMaxTagDevice) + " and experts up to " +
                  std::to_string(profiler::kMaxTagExpert) + "; this run goes beyond");
    }
    step_ = step;
    layer_ = layer;
    device_of_expert_ = placement.device_of_expert;
  }

  RouterOutput route(const float* logits, int tokens, int experts, int top_k, bool norm_topk_prob,
                     int layer) override {
    check_router_input(logits, tokens, experts, top_k, layer);
    if (!options_.gpu_routing)
      return Backend::route(logits, tokens, experts, top_k, norm_topk_prob, layer);
    if (experts > kMaxGatingExperts || top_k > kMaxGatingTopK) {
      gating_on_host_ = true;  // beyond what the kernel holds in registers
      return Backend::route(logits, tokens, experts, top_k, norm_topk_prob, layer);
    }
    check_cuda(cudaSetDevice(device_.index), "selecting GPU " + std::to_string(device_.index));
    profiler::NvtxRange range("gating");
    const auto T = static_cast<std::size_t>(tokens);
    const auto E = static_cast<std::size_t>(experts);
    const auto K = static_cast<std::size_t>(top_k);
    logits_.reserve(T * E * sizeof(float));
    probs_.reserve(T * E * sizeof(float));
    topk_experts_.reserve(T * K * sizeof(int));
    topk_weights_.reserve(T * K * sizeof(float));
    topk_sum_.reserve(T * sizeof(float));
    check_cuda(cudaMemcpyAsync(logits_.data(), logits, T * E * sizeof(float),
                               cudaMemcpyHostToDevice, stream_),
               "uploading the router logits");
    launch_gating(logits_.as<float>(), tokens, experts, top_k, norm_topk_prob, probs_.as<float>(),
                  topk_experts_.as<int>(), topk_weights_.as<float>(), topk_sum_.as<float>(),
                  stream_);
    check_cuda(cudaGetLastError(), "launching the gating kernel");
    RouterOutput out = empty_router_output(tokens, experts, top_k, norm_topk_prob);
    check_cuda(cudaMemcpyAsync(out.probs.data(), probs_.data(), T * E * sizeof(float),
                               cudaMemcpyDeviceToHost, stream_),
               "reading the router's probabilities");
    check_cuda(cudaMemcpyAsync(out.topk_experts.data(), topk_experts_.data(), T * K * sizeof(int),
                               cudaMemcpyDeviceToHost, stream_),
               "reading the router's choices");
    check_cuda(cudaMemcpyAsync(out.topk_sum.data(), topk_sum_.data(), T * sizeof(float),
                               cudaMemcpyDeviceToHost, stream_),
               "reading the router's choices");
    check_cuda(cudaStreamSynchronize(stream_), "gating");
    return out;
  }

  PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                             const Placement& placement) override {
    if (!options_.gpu_routing) return Backend::apply_policy(router, config, placement);
    check_cuda(cudaSetDevice(device_.index), "selecting GPU " + std::to_string(device_.index));
    profiler::NvtxRange range("policy " + policy_label(config));
    return apply_policy_on_gpu(router, config, placement, stream_);
  }

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
  LayerExecution execute_layer(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                               const DispatchPlan& plan, const CancelFlag* cancel) {
    check_cuda(cudaSetDevice(device_.index), "selecting GPU " + std::to_string(device_.index));
    if (layer_in_flight_) discard_unfinished_layer();
    layer_in_flight_ = true;
    upload_weights(w);
    const std::int64_t tokens = plan.tokens;
    const auto rows = static_cast<std::int64_t>(plan.row_token.size());
    upload_layer_inputs(x, w, outcome, plan);

    const Precision p = options_.precision;
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto F = static_cast<std::size_t>(w.ffn);
    const auto R = static_cast<std::size_t>(rows);
    // Every allocation before the first mark: cudaMalloc and cudaFree wait for the GPU, and
    // that wait must not land inside a timed span.
    permuted_in_.reserve(bytes_of(R * H, p));
    gate_up_out_.reserve(bytes_of(R * 2 * F, p));
    act_.reserve(bytes_of(R * F, p));
    expert_out_.reserve(bytes_of(R * H, p));
    y_.reserve(static_cast<std::size_t>(tokens) * H * sizeof(float));
    if (w.shared_experts > 0) reserve_shared(w, tokens);
    if (options_.mode == GemmMode::kGrouped) prepare_grouped(w, plan);

    events_->reset();
    const std::size_t dispatch_start = events_->mark();
    {
      Tagged tag(*this, Phase::kDispatch, -1, "dispatch");
      gather_rows(x_.as<float>(), row_token_.as<std::int64_t>(), rows, w.hidden, p,
                  permuted_in_.data(), stream_);
    }
    const std::size_t dispatch_end = events_->mark();

    std::vector<std::pair<std::size_t, std::size_t>> expert_marks(
        static_cast<std::size_t>(w.experts), {0, 0});
    std::size_t experts_start = 0;
    std::size_t experts_end = 0;
    if (options_.mode == GemmMode::kPerExpert) {
      for (int e = 0; e < w.experts; ++e) {
        const std::int64_t n = plan.rows_of(e);
        if (n == 0) continue;
        throw_if_cancelled(cancel);
        Tagged tag(*this, Phase::kExpert, e, "expert " + std::to_string(e));
        auto& marks = expert_marks[static_cast<std::size_t>(e)];
        marks.first = events_->mark();
        run_expert(w, e, plan.offsets[static_cast<std::size_t>(e)], n);
        marks.second = events_->mark();
      }
    } else {
      throw_if_cancelled(cancel);
      Tagged tag(*this, Phase::kExpert, -1, "experts (grouped)");
      experts_start = events_->mark();
      run_experts_grouped(w, plan);
      experts_end = events_->mark();
    }

    std::size_t shared_start = 0;
    std::size_t shared_end = 0;
    if (w.shared_experts > 0) {
      throw_if_cancelled(cancel);
      Tagged tag(*this, Phase::kSharedExpert, -1, "shared experts");
      shared_start = events_->mark();
      run_shared_experts(w, tokens);
      shared_end = events_->mark();
    }

    const std::size_t combine_start = events_->mark();
    {
      Tagged tag(*this, Phase::kCombine, -1, "combine");
      combine_rows(expert_out_.data(), p, pair_row_.as<std::int64_t>(), pair_weight_.as<float>(),
                   token_pairs_.as<std::int64_t>(),
                   w.shared_experts > 0 ? shared_acc_.as<float>() : nullptr, tokens, w.hidden,
                   y_.as<float>(), stream_);
    }
    const std::size_t combine_end = events_->mark();
    check_cuda(cudaGetLastError(), "launching the layer's kernels");

    LayerExecution out;
    out.output.resize(static_cast<std::size_t>(tokens) * H);
    check_cuda(cudaMemcpyAsync(out.output.data(), y_.data(), out.output.size() * sizeof(float),
                               cudaMemcpyDeviceToHost, stream_),
               "reading the layer's output");
    check_cuda(cudaStreamSynchronize(stream_), "running the layer");

    layer_in_flight_ = false;

    // Times: CUPTI's kernel durations when it kept every record whole, else the events'.
    out.expert_ns.assign(static_cast<std::size_t>(w.experts), 0);
    std::optional<profiler::LayerGpuTimes> gpu;
    if (cupti_) {
      const profiler::AttributedActivity activity = cupti_->flush();
      cupti_dropped_ += activity.counts.dropped + activity.counts.invalid;
      if (activity.counts.dropped == 0 && activity.counts.invalid == 0) {
        gpu = profiler::sum_layer_times(activity.events, step_, layer_, w.experts);
        keep_kernel_records(activity, out);
      } else {
        ++layers_timed_by_events_;
      }
    }
    if (gpu) {
      out.dispatch_ns = gpu->dispatch_ns;
      out.shared_ns = gpu->shared_ns;
      out.combine_ns = gpu->combine_ns;
      out.expert_ns = gpu->expert_ns;
      if (options_.mode == GemmMode::kGrouped) apportion(gpu->all_experts_ns, plan, out);
    } else {
      out.dispatch_ns = events_->elapsed_ns(dispatch_start, dispatch_end);
      out.combine_ns = events_->elapsed_ns(combine_start, combine_end);
      if (w.shared_experts > 0) out.shared_ns = events_->elapsed_ns(shared_start, shared_end);
      if (options_.mode == GemmMode::kGrouped) {
        apportion(events_->elapsed_ns(experts_start, experts_end), plan, out);
      } else {
        for (std::size_t e = 0; e < expert_marks.size(); ++e) {
          if (plan.rows_of(static_cast<int>(e)) > 0) {
            out.expert_ns[e] = events_->elapsed_ns(expert_marks[e].first, expert_marks[e].second);
          }
        }
      }
    }
    return out;
  }

  // An NVTX range and, under CUPTI, the tag every kernel launched inside it carries.
  class Tagged {
   public:
    Tagged(CudaBackend& backend, Phase phase, int expert, const std::string& label)
        : backend_(backend), range_(label) {
      if (!backend_.cupti_) return;
      const auto& devices = backend_.device_of_expert_;
      const int device = expert >= 0 && static_cast<std::size_t>(expert) < devices.size()
                             ? devices[static_cast<std::size_t>(expert)]
                             : 0;
      backend_.cupti_->push({backend_.step_, backend_.layer_, device, expert, phase});
    }
    ~Tagged() {
      if (!backend_.cupti_) return;
      try {
        backend_.cupti_->pop();
      } catch (const std::exception&) {
        // A destructor must not throw; the layer's flush then finds the launches untagged.
      }
    }
    Tagged(const Tagged&) = delete;
    Tagged& operator=(const Tagged&) = delete;

   private:
    CudaBackend& backend_;
    profiler::NvtxRange range_;
  };

  // One time for all experts, shared by rows: each expert's share of the FLOPs. An expert
  // with rows gets at least 1 ns, so that "it ran" stays visible.
  static void apportion(std::int64_t total_ns, const DispatchPlan& plan, LayerExecution& out) {
    const auto rows = static_cast<std::int64_t>(plan.row_token.size());
    if (rows == 0) return;
    for (int e = 0; e < plan.experts; ++e) {
      if (plan.rows_of(e) == 0) continue;
      out.expert_ns[static_cast<std::size_t>(e)] =
          std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(total_ns) *
                                                              static_cast<double>(plan.rows_of(e)) /
                                                              static_cast<double>(rows)));
    }
  }

  // The layer's kernels and copies, from its first, for the session store.
  void keep_kernel_records(const profiler::AttributedActivity& activity,
                           LayerExecution& out) const {
    std::int64_t first = 0;
    bool any = false;
    for (const auto& e : activity.events) {
      if (e.step != step_ || e.layer != layer_) continue;
      first = any ? std::min(first, e.start_ns) : e.start_ns;
      any = true;
    }
    for (std::size_t i = 0; i < activity.events.size(); ++i) {
      profiler::Event e = activity.events[i];
      if (e.step != step_ || e.layer != layer_) continue;
      e.start_ns -= first;
      e.end_ns -= first;
      out.gpu_kernels.push_back(e);
      out.gpu_kernel_names.push_back(activity.names[i]);
    }
  }

  void release() {
    if (cublas_ != nullptr) cublasDestroy(cublas_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    cublas_ = nullptr;
    stream_ = nullptr;
  }

  // A layer that threw (a cancel, an error) may have left work and records behind: wait for
  // the work, and drop the records so they are not counted in this layer.
  void discard_unfinished_layer() {
    cudaStreamSynchronize(stream_);
    cudaGetLastError();
    if (cupti_) cupti_->flush();
    layer_in_flight_ = false;
  }

  void upload_converted(const std::vector<float>& host, DeviceBuffer& dst) {
    dst.reserve(std::max<std::size_t>(1, bytes_of(host.size(), options_.precision)));
    for (std::size_t first = 0; first < host.size(); first += kUploadSlice) {
      const std::size_t n = std::min(kUploadSlice, host.size() - first);
      staging_.reserve(n * sizeof(float));
      check_cuda(cudaMemcpyAsync(staging_.data(), host.data() + first, n * sizeof(float),
                                 cudaMemcpyHostToDevice, stream_),
                 "uploading expert weights");
      convert_from_fp32(staging_.as<float>(), static_cast<std::int64_t>(n), options_.precision,
                        static_cast<char*>(dst.data()) + bytes_of(first, options_.precision),
                        stream_);
      check_cuda(cudaGetLastError(), "converting expert weights");
      check_cuda(cudaStreamSynchronize(stream_), "converting expert weights");
    }
  }

  void upload_weights(const ExpertWeights& w) {
    std::vector<float> fingerprint = weight_fingerprint(w);
    if (fingerprint == weights_fingerprint_) return;
    weights_fingerprint_.clear();
    profiler::NvtxRange range("upload weights");
    upload_converted(w.gate_up, gate_up_w_);
    upload_converted(w.down, down_w_);
    upload_converted(w.shared_gate_up, shared_gate_up_w_);
    upload_converted(w.shared_down, shared_down_w_);
    if (!w.shared_gate.empty()) {
      shared_gate_.reserve(w.shared_gate.size() * sizeof(float));
      check_cuda(
          cudaMemcpyAsync(shared_gate_.data(), w.shared_gate.data(),
                          w.shared_gate.size() * sizeof(float), cudaMemcpyHostToDevice, stream_),
          "uploading the shared expert gate");
      check_cuda(cudaStreamSynchronize(stream_), "uploading the shared expert gate");
    }
    weights_fingerprint_ = std::move(fingerprint);
  }

  template <typename T>
  void upload(const T* host, std::size_t count, DeviceBuffer& dst, const char* what) {
    dst.reserve(std::max<std::size_t>(1, count * sizeof(T)));
    if (count == 0) return;
    check_cuda(
        cudaMemcpyAsync(dst.data(), host, count * sizeof(T), cudaMemcpyHostToDevice, stream_),
        what);
  }

  // What the layer reads besides the weights: x, the plan and the kept pairs' weights. The
  // kept pairs are in token order, so each token's pairs are a contiguous range.
  void upload_layer_inputs(const float* x, const ExpertWeights& w, const PolicyOutcome& outcome,
                           const DispatchPlan& plan) {
    const auto T = static_cast<std::size_t>(plan.tokens);
    host_weight_.resize(outcome.kept.size());
    host_token_pairs_.assign(T + 1, 0);
    for (std::size_t i = 0; i < outcome.kept.size(); ++i) {
      host_weight_[i] = outcome.kept[i].weight;
      ++host_token_pairs_[static_cast<std::size_t>(outcome.kept[i].token) + 1];
    }
    for (std::size_t t = 0; t < T; ++t)
      host_token_pairs_[t + 1] += host_token_pairs_[t];
    upload(x, T * static_cast<std::size_t>(w.hidden), x_, "uploading the hidden states");
    upload(plan.row_token.data(), plan.row_token.size(), row_token_, "uploading the plan");
    upload(plan.pair_row.data(), plan.pair_row.size(), pair_row_, "uploading the plan");
    upload(host_weight_.data(), host_weight_.size(), pair_weight_, "uploading the pair weights");
    upload(host_token_pairs_.data(), host_token_pairs_.size(), token_pairs_, "uploading the plan");
    // Pageable copies return before the GPU reads them only when staged; wait, so the host
    // vectors can change for the next layer.
    check_cuda(cudaStreamSynchronize(stream_), "uploading the layer's inputs");
  }

  void run_expert(const ExpertWeights& w, int e, std::int64_t first_row, std::int64_t rows) {
    const Precision p = options_.precision;
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto F = static_cast<std::size_t>(w.ffn);
    const auto r0 = static_cast<std::size_t>(first_row);
    const auto ex = static_cast<std::size_t>(e);
    auto* in = static_cast<char*>(permuted_in_.data()) + bytes_of(r0 * H, p);
    auto* gu = static_cast<char*>(gate_up_out_.data()) + bytes_of(r0 * 2 * F, p);
    auto* act = static_cast<char*>(act_.data()) + bytes_of(r0 * F, p);
    auto* out = static_cast<char*>(expert_out_.data()) + bytes_of(r0 * H, p);
    const auto* w_gu = static_cast<const char*>(gate_up_w_.data()) + bytes_of(ex * 2 * F * H, p);
    const auto* w_down = static_cast<const char*>(down_w_.data()) + bytes_of(ex * H * F, p);
    gemm_rows(cublas_, p, in, rows, w.hidden, w_gu, 2 * w.ffn, gu);
    swiglu_rows(gu, rows, w.ffn, p, act, stream_);
    gemm_rows(cublas_, p, act, rows, w.ffn, w_down, w.hidden, out);
  }

  void prepare_grouped(const ExpertWeights& w, const DispatchPlan& plan) {
    const Precision p = options_.precision;
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto F = static_cast<std::size_t>(w.ffn);
    GroupedProblems up;
    GroupedProblems down;
    for (int e = 0; e < w.experts; ++e) {
      const auto r0 = static_cast<std::size_t>(plan.offsets[static_cast<std::size_t>(e)]);
      const auto ex = static_cast<std::size_t>(e);
      const int rows = static_cast<int>(plan.rows_of(e));
      up.in.push_back(static_cast<const char*>(permuted_in_.data()) + bytes_of(r0 * H, p));
      up.w.push_back(static_cast<const char*>(gate_up_w_.data()) + bytes_of(ex * 2 * F * H, p));
      up.out.push_back(static_cast<char*>(gate_up_out_.data()) + bytes_of(r0 * 2 * F, p));
      up.rows.push_back(rows);
      down.in.push_back(static_cast<const char*>(act_.data()) + bytes_of(r0 * F, p));
      down.w.push_back(static_cast<const char*>(down_w_.data()) + bytes_of(ex * H * F, p));
      down.out.push_back(static_cast<char*>(expert_out_.data()) + bytes_of(r0 * H, p));
      down.rows.push_back(rows);
    }
    grouped_up_.prepare(up, w.hidden, 2 * w.ffn, stream_);
    grouped_down_.prepare(down, w.ffn, w.hidden, stream_);
  }

  void run_experts_grouped(const ExpertWeights& w, const DispatchPlan& plan) {
    const auto rows = static_cast<std::int64_t>(plan.row_token.size());
    grouped_up_.run(cublas_, options_.precision);
    swiglu_rows(gate_up_out_.data(), rows, w.ffn, options_.precision, act_.data(), stream_);
    grouped_down_.run(cublas_, options_.precision);
  }

  void reserve_shared(const ExpertWeights& w, std::int64_t tokens) {
    const Precision p = options_.precision;
    const auto T = static_cast<std::size_t>(tokens);
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto Fs = static_cast<std::size_t>(w.shared_ffn);
    x_lowp_.reserve(bytes_of(T * H, p));
    shared_gate_up_out_.reserve(bytes_of(T * 2 * Fs, p));
    shared_act_.reserve(bytes_of(T * Fs, p));
    shared_out_.reserve(bytes_of(T * H, p));
    shared_acc_.reserve(T * H * sizeof(float));
    shared_scale_.reserve(T * sizeof(float));
  }

  void run_shared_experts(const ExpertWeights& w, std::int64_t tokens) {
    const Precision p = options_.precision;
    const auto T = static_cast<std::size_t>(tokens);
    const auto H = static_cast<std::size_t>(w.hidden);
    const auto Fs = static_cast<std::size_t>(w.shared_ffn);
    convert_from_fp32(x_.as<float>(), static_cast<std::int64_t>(T * H), p, x_lowp_.data(), stream_);
    check_cuda(cudaMemsetAsync(shared_acc_.data(), 0, T * H * sizeof(float), stream_),
               "clearing the shared experts' sum");
    const float* scale = nullptr;
    if (w.shared_gate_sigmoid) {
      shared_gate_scale(x_.as<float>(), shared_gate_.as<float>(), tokens, w.hidden,
                        shared_scale_.as<float>(), stream_);
      scale = shared_scale_.as<float>();
    }
    for (std::size_t s = 0; s < static_cast<std::size_t>(w.shared_experts); ++s) {
      const auto* w_gu =
          static_cast<const char*>(shared_gate_up_w_.data()) + bytes_of(s * 2 * Fs * H, p);
      const auto* w_down =
          static_cast<const char*>(shared_down_w_.data()) + bytes_of(s * H * Fs, p);
      gemm_rows(cublas_, p, x_lowp_.data(), tokens, w.hidden, w_gu, 2 * w.shared_ffn,
                shared_gate_up_out_.data());
      swiglu_rows(shared_gate_up_out_.data(), tokens, w.shared_ffn, p, shared_act_.data(), stream_);
      gemm_rows(cublas_, p, shared_act_.data(), tokens, w.shared_ffn, w_down, w.hidden,
                shared_out_.data());
      accumulate_rows(shared_out_.data(), scale, tokens, w.hidden, p, shared_acc_.as<float>(),
                      stream_);
    }
  }

  CudaBackendOptions options_;
  CudaDevice device_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::optional<profiler::CudaEventTimer> events_;
  std::unique_ptr<profiler::CuptiCollector> cupti_;
  std::string cupti_unavailable_;
  std::int64_t cupti_dropped_ = 0;
  std::int64_t layers_timed_by_events_ = 0;

  std::vector<float> weights_fingerprint_;
  DeviceBuffer gate_up_w_{"the experts' gate and up weights"};
  DeviceBuffer down_w_{"the experts' down weights"};
  DeviceBuffer shared_gate_up_w_{"the shared experts' gate and up weights"};
  DeviceBuffer shared_down_w_{"the shared experts' down weights"};
  DeviceBuffer shared_gate_{"the shared expert gate"};
  DeviceBuffer staging_{"the weight upload staging"};

  std::vector<float> host_weight_;
  std::vector<std::int64_t> host_token_pairs_;
  DeviceBuffer logits_{"the router logits"};
  DeviceBuffer probs_{"the router's probabilities"};
  DeviceBuffer topk_experts_{"the router's choices"};
  DeviceBuffer topk_weights_{"the router's weights"};
  DeviceBuffer topk_sum_{"the router's top-k sums"};
  DeviceBuffer x_{"the hidden states"};
  DeviceBuffer row_token_{"the dispatch plan"};
  DeviceBuffer pair_row_{"the dispatch plan"};
  DeviceBuffer pair_weight_{"the pair weights"};
  DeviceBuffer token_pairs_{"the dispatch plan"};
  DeviceBuffer permuted_in_{"the dispatched rows"};
  DeviceBuffer gate_up_out_{"the experts' gate and up activations"};
  DeviceBuffer act_{"the experts' SwiGLU activations"};
  DeviceBuffer expert_out_{"the experts' outputs"};
  GroupedGemm grouped_up_{"the grouped GEMM's pointers"};
  GroupedGemm grouped_down_{"the grouped GEMM's pointers"};
  bool layer_in_flight_ = false;
  bool warmed_up_ = false;
  int step_ = 0;
  int layer_ = 0;
  std::vector<int> device_of_expert_;
  bool gating_on_host_ = false;
  DeviceBuffer x_lowp_{"the hidden states in bf16"};
  DeviceBuffer shared_gate_up_out_{"the shared experts' activations"};
  DeviceBuffer shared_act_{"the shared experts' activations"};
  DeviceBuffer shared_out_{"the shared experts' outputs"};
  DeviceBuffer shared_acc_{"the shared experts' sum"};
  DeviceBuffer shared_scale_{"the shared expert gate"};
  DeviceBuffer y_{"the layer output"};
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
