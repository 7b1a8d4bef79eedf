#include "kernels/layer_workspace.h"

#include <algorithm>

#include "kernels/cuda_check.h"

namespace moescope::kernels {

namespace {

// At least one byte, so that even an empty input has a device address.
template <typename T>
void reserve_elements(DeviceBuffer& dst, std::size_t count) {
  dst.reserve(std::max<std::size_t>(1, count * sizeof(T)));
}

template <typename T>
void upload(const T* host, std::size_t count, const DeviceBuffer& dst, const char* what,
            cudaStream_t stream) {
  if (count == 0) return;
  check_cuda(cudaMemcpyAsync(dst.data(), host, count * sizeof(T), cudaMemcpyHostToDevice, stream),
             what);
}

}  // namespace

LayerShape layer_shape(const ExpertWeights& w, const PolicyOutcome& outcome,
                       const DispatchPlan& plan, GemmMode mode) {
  LayerShape s;
  s.tokens = static_cast<std::size_t>(plan.tokens);
  s.hidden = static_cast<std::size_t>(w.hidden);
  s.ffn = static_cast<std::size_t>(w.ffn);
  s.rows = plan.row_token.size();
  s.pair_rows = plan.pair_row.size();
  s.kept_pairs = outcome.kept.size();
  s.shared_experts = static_cast<std::size_t>(w.shared_experts);
  s.shared_ffn = static_cast<std::size_t>(w.shared_ffn);
  if (mode == GemmMode::kGrouped) {
    for (int e = 0; e < w.experts; ++e) {
      if (static_cast<int>(plan.rows_of(e)) != 0) ++s.grouped_problems;
    }
  }
  return s;
}

void LayerWorkspace::reserve_for(const LayerShape& shape) {
  const Precision p = precision_;
  const std::size_t T = shape.tokens;
  const std::size_t H = shape.hidden;
  const std::size_t F = shape.ffn;
  const std::size_t R = shape.rows;
  LayerBuffers& b = buffers_;
  reserve_elements<float>(b.x, T * H);
  reserve_elements<std::int64_t>(b.row_token, shape.rows);
  reserve_elements<std::int64_t>(b.pair_row, shape.pair_rows);
  reserve_elements<float>(b.pair_weight, shape.kept_pairs);
  reserve_elements<std::int64_t>(b.token_pairs, T + 1);
  b.permuted_in.reserve(bytes_of(R * H, p));
  b.gate_up_out.reserve(bytes_of(R * 2 * F, p));
  b.act.reserve(bytes_of(R * F, p));
  b.expert_out.reserve(bytes_of(R * H, p));
  b.y.reserve(T * H * sizeof(float));
  if (shape.shared_experts > 0) {
    const std::size_t Fs = shape.shared_ffn;
    b.x_lowp.reserve(bytes_of(T * H, p));
    b.shared_gate_up_out.reserve(bytes_of(T * 2 * Fs, p));
    b.shared_act.reserve(bytes_of(T * Fs, p));
    b.shared_out.reserve(bytes_of(T * H, p));
    b.shared_acc.reserve(T * H * sizeof(float));
    b.shared_scale.reserve(T * sizeof(float));
  }
  b.grouped_up.reserve(shape.grouped_problems);
  b.grouped_down.reserve(shape.grouped_problems);
}

// The kept pairs are in token order, so each token's pairs are a contiguous range.
void LayerWorkspace::upload_inputs(const float* x, const ExpertWeights& w,
                                   const PolicyOutcome& outcome, const DispatchPlan& plan,
                                   cudaStream_t stream) {
  const auto T = static_cast<std::size_t>(plan.tokens);
  host_weight_.resize(outcome.kept.size());
  host_token_pairs_.assign(T + 1, 0);
  for (std::size_t i = 0; i < outcome.kept.size(); ++i) {
    host_weight_[i] = outcome.kept[i].weight;
    ++host_token_pairs_[static_cast<std::size_t>(outcome.kept[i].token) + 1];
  }
  for (std::size_t t = 0; t < T; ++t)
    host_token_pairs_[t + 1] += host_token_pairs_[t];
  const LayerBuffers& b = buffers_;
  upload(x, T * static_cast<std::size_t>(w.hidden), b.x, "uploading the hidden states", stream);
  upload(plan.row_token.data(), plan.row_token.size(), b.row_token, "uploading the plan", stream);
  upload(plan.pair_row.data(), plan.pair_row.size(), b.pair_row, "uploading the plan", stream);
  upload(host_weight_.data(), host_weight_.size(), b.pair_weight, "uploading the pair weights",
         stream);
  upload(host_token_pairs_.data(), host_token_pairs_.size(), b.token_pairs, "uploading the plan",
         stream);
  // Pageable copies return before the GPU reads them only when staged; wait, so the host
  // vectors can change for the next layer.
  check_cuda(cudaStreamSynchronize(stream), "uploading the layer's inputs");
}

void LayerWorkspace::point_grouped_gemms(const ExpertWeights& w, const DispatchPlan& plan,
                                         const WeightCache& weights, cudaStream_t stream) {
  const Precision p = precision_;
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto F = static_cast<std::size_t>(w.ffn);
  LayerBuffers& b = buffers_;
  GroupedProblems up;
  GroupedProblems down;
  for (int e = 0; e < w.experts; ++e) {
    const auto r0 = static_cast<std::size_t>(plan.offsets[static_cast<std::size_t>(e)]);
    const auto ex = static_cast<std::size_t>(e);
    const int rows = static_cast<int>(plan.rows_of(e));
    up.in.push_back(static_cast<const char*>(b.permuted_in.data()) + bytes_of(r0 * H, p));
    up.w.push_back(static_cast<const char*>(weights.gate_up().data()) +
                   bytes_of(ex * 2 * F * H, p));
    up.out.push_back(static_cast<char*>(b.gate_up_out.data()) + bytes_of(r0 * 2 * F, p));
    up.rows.push_back(rows);
    down.in.push_back(static_cast<const char*>(b.act.data()) + bytes_of(r0 * F, p));
    down.w.push_back(static_cast<const char*>(weights.down().data()) + bytes_of(ex * H * F, p));
    down.out.push_back(static_cast<char*>(b.expert_out.data()) + bytes_of(r0 * H, p));
    down.rows.push_back(rows);
  }
  b.grouped_up.prepare(up, w.hidden, 2 * w.ffn, stream);
  b.grouped_down.prepare(down, w.ffn, w.hidden, stream);
}

}  // namespace moescope::kernels
