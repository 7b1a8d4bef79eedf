#include "core/model/expert_weights.h"

#include <algorithm>
#include <cmath>

#include "core/base/random.h"

namespace moescope {

std::vector<float> weight_fingerprint(const ExpertWeights& w) {
  std::vector<float> f = {static_cast<float>(w.hidden), static_cast<float>(w.ffn),
                          static_cast<float>(w.experts), static_cast<float>(w.shared_experts),
                          static_cast<float>(w.shared_ffn), w.shared_gate_sigmoid ? 1.0f : 0.0f,
                          // exact in fp32: 24 bits each
                          static_cast<float>(w.generation & 0xFFFFFFu),
                          static_cast<float>((w.generation >> 24) & 0xFFFFFFu),
                          static_cast<float>(w.mlp.activation), w.mlp.biases ? 1.0f : 0.0f,
                          static_cast<float>(w.mlp.swiglu_alpha),
                          static_cast<float>(w.mlp.swiglu_limit)};
  for (const auto* v : {&w.gate_up, &w.down, &w.shared_gate_up, &w.shared_down, &w.shared_gate,
                        &w.gate_up_bias, &w.down_bias}) {
    f.push_back(static_cast<float>(v->size()));
    for (std::size_t i = 0; i < v->size(); i += std::max<std::size_t>(1, v->size() / 16))
      f.push_back((*v)[i]);
  }
  return f;
}

std::uint64_t expert_weight_bytes(const ModelSpec& spec) {
  const auto H = static_cast<std::uint64_t>(spec.hidden);
  const std::uint64_t routed = 3ull * H * static_cast<std::uint64_t>(spec.expert_ffn) *
                               static_cast<std::uint64_t>(spec.experts);
  const std::uint64_t shared = 3ull * H * static_cast<std::uint64_t>(spec.shared_ffn) *
                               static_cast<std::uint64_t>(spec.shared_experts);
  const std::uint64_t biases = spec.mlp.biases
                                   ? (2ull * static_cast<std::uint64_t>(spec.expert_ffn) + H) *
                                         static_cast<std::uint64_t>(spec.experts)
                                   : 0;
  return (routed + shared + H + biases) * sizeof(float);
}

ExpertWeights make_synthetic_weights(const ModelSpec& spec, std::uint64_t seed) {
  ExpertWeights w;
  w.hidden = spec.hidden;
  w.ffn = spec.expert_ffn;
  w.experts = spec.experts;
  w.shared_experts = spec.shared_experts;
  w.shared_ffn = spec.shared_ffn;
  w.shared_gate_sigmoid = spec.shared_gate_sigmoid;
  w.mlp = spec.mlp;
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
  if (spec.mlp.biases) {
    // Small beside the products they are added to, as trained biases are.
    w.gate_up_bias.resize(E * 2 * F);
    fill_uniform(w.gate_up_bias.data(), w.gate_up_bias.size(), 0.1f, rng);
    w.down_bias.resize(E * H);
    fill_uniform(w.down_bias.data(), w.down_bias.size(), 0.1f, rng);
  }
  return w;
}

}  // namespace moescope
