#include "core/model/expert_weights.h"

#include <cmath>

#include "core/base/random.h"

namespace moescope {

std::uint64_t expert_weight_bytes(const ModelSpec& spec) {
  const auto H = static_cast<std::uint64_t>(spec.hidden);
  const std::uint64_t routed = 3ull * H * static_cast<std::uint64_t>(spec.expert_ffn) *
                               static_cast<std::uint64_t>(spec.experts);
  const std::uint64_t shared = 3ull * H * static_cast<std::uint64_t>(spec.shared_ffn) *
                               static_cast<std::uint64_t>(spec.shared_experts);
  return (routed + shared + H) * sizeof(float);
}

ExpertWeights make_synthetic_weights(const ModelSpec& spec, std::uint64_t seed) {
  ExpertWeights w;
  w.hidden = spec.hidden;
  w.ffn = spec.expert_ffn;
  w.experts = spec.experts;
  w.shared_experts = spec.shared_experts;
  w.shared_ffn = spec.shared_ffn;
  w.shared_gate_sigmoid = spec.shared_gate_sigmoid;
  const auto H = static_cast<std::size_t>(spec.hidden);
  const auto F = static_cast<std::size_t>(spec.expert_ffn);
  const auto E = static_cast<std::size_t>(spec.experts);
  const auto S = static_cast<std::size_t>(spec.shared_experts);
  const auto Fs = static_cast<std::size_t>(spec.shared_ffn);
  const float in_scale = 1.0f / std::sqrt(static_cast<float>(H));
  Rng rng({seed, 0x57454947ull});
  w.gate_up.resize(E * 2 * F * H);
  fill_uniform(w.gate_up.data(), w.gate_up.size(), in_scale, rng);
  w.down.resize(E * H * F);
  fill_uniform(w.down.data(), w.down.size(), 1.0f / std::sqrt(static_cast<float>(F)), rng);
  if (S > 0) {
    w.shared_gate_up.resize(S * 2 * Fs * H);
    fill_uniform(w.shared_gate_up.data(), w.shared_gate_up.size(), in_scale, rng);
    w.shared_down.resize(S * H * Fs);
    fill_uniform(w.shared_down.data(), w.shared_down.size(),
                 1.0f / std::sqrt(static_cast<float>(Fs)), rng);
  }
  if (spec.shared_gate_sigmoid) {
    w.shared_gate.resize(H);
    fill_uniform(w.shared_gate.data(), H, in_scale, rng);
  }
  return w;
}

}  // namespace moescope
