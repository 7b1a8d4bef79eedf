#include "kernels/layer_stages.h"

#include "kernels/cuda_check.h"
#include "kernels/expert_gemm.h"
#include "kernels/layer_kernels.h"

namespace moescope::kernels {

void LayerStages::dispatch(std::int64_t rows) const {
  gather_rows(b_.x.as<float>(), b_.row_token.as<std::int64_t>(), rows, w_.hidden, precision_,
              b_.permuted_in.data(), stream_);
}

void LayerStages::expert(int e, std::int64_t first_row, std::int64_t rows) const {
  const Precision p = precision_;
  const auto H = static_cast<std::size_t>(w_.hidden);
  const auto F = static_cast<std::size_t>(w_.ffn);
  const auto r0 = static_cast<std::size_t>(first_row);
  const auto ex = static_cast<std::size_t>(e);
  auto* in = static_cast<char*>(b_.permuted_in.data()) + bytes_of(r0 * H, p);
  auto* gu = static_cast<char*>(b_.gate_up_out.data()) + bytes_of(r0 * 2 * F, p);
  auto* act = static_cast<char*>(b_.act.data()) + bytes_of(r0 * F, p);
  auto* out = static_cast<char*>(b_.expert_out.data()) + bytes_of(r0 * H, p);
  const auto* w_gu =
      static_cast<const char*>(weights_.gate_up().data()) + bytes_of(ex * 2 * F * H, p);
  const auto* w_down = static_cast<const char*>(weights_.down().data()) + bytes_of(ex * H * F, p);
  gemm_rows(cublas_, p, in, rows, w_.hidden, w_gu, 2 * w_.ffn, gu);
  swiglu_rows(gu, rows, w_.ffn, p, act, stream_);
  gemm_rows(cublas_, p, act, rows, w_.ffn, w_down, w_.hidden, out);
}

void LayerStages::experts_grouped(std::int64_t rows) const {
  b_.grouped_up.run(cublas_, precision_);
  swiglu_rows(b_.gate_up_out.data(), rows, w_.ffn, precision_, b_.act.data(), stream_);
  b_.grouped_down.run(cublas_, precision_);
}

void LayerStages::shared_experts(std::int64_t tokens) const {
  const Precision p = precision_;
  const auto T = static_cast<std::size_t>(tokens);
  const auto H = static_cast<std::size_t>(w_.hidden);
  const auto Fs = static_cast<std::size_t>(w_.shared_ffn);
  convert_from_fp32(b_.x.as<float>(), static_cast<std::int64_t>(T * H), p, b_.x_lowp.data(),
                    stream_);
  check_cuda(cudaMemsetAsync(b_.shared_acc.data(), 0, T * H * sizeof(float), stream_),
             "clearing the shared experts' sum");
  const float* scale = nullptr;
  if (w_.shared_gate_sigmoid) {
    shared_gate_scale(b_.x.as<float>(), weights_.shared_gate().as<float>(), tokens, w_.hidden,
                      b_.shared_scale.as<float>(), stream_);
    scale = b_.shared_scale.as<float>();
  }
  for (std::size_t s = 0; s < static_cast<std::size_t>(w_.shared_experts); ++s) {
    const auto* w_gu =
        static_cast<const char*>(weights_.shared_gate_up().data()) + bytes_of(s * 2 * Fs * H, p);
    const auto* w_down =
        static_cast<const char*>(weights_.shared_down().data()) + bytes_of(s * H * Fs, p);
    gemm_rows(cublas_, p, b_.x_lowp.data(), tokens, w_.hidden, w_gu, 2 * w_.shared_ffn,
              b_.shared_gate_up_out.data());
    swiglu_rows(b_.shared_gate_up_out.data(), tokens, w_.shared_ffn, p, b_.shared_act.data(),
                stream_);
    gemm_rows(cublas_, p, b_.shared_act.data(), tokens, w_.shared_ffn, w_down, w_.hidden,
              b_.shared_out.data());
    accumulate_rows(b_.shared_out.data(), scale, tokens, w_.hidden, p, b_.shared_acc.as<float>(),
                    stream_);
  }
}

void LayerStages::combine(std::int64_t tokens) const {
  combine_rows(b_.expert_out.data(), precision_, b_.pair_row.as<std::int64_t>(),
               b_.pair_weight.as<float>(), b_.token_pairs.as<std::int64_t>(),
               w_.shared_experts > 0 ? b_.shared_acc.as<float>() : nullptr, tokens, w_.hidden,
               b_.y.as<float>(), stream_);
}

}  // namespace moescope::kernels
