// The weights of one MoE layer: SwiGLU routed experts (gpt-oss: clamped, with biases) and
// shared experts, fp32, row-major.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/model_spec.h"

namespace moescope {

struct ExpertWeights {
  int hidden = 0;
  int ffn = 0;
  int experts = 0;
  int shared_experts = 0;
  int shared_ffn = 0;
  bool shared_gate_sigmoid = false;
  ExpertMlp mlp;  // the routed experts' activation, and whether the biases below are there
  // Gate and up projections stacked, so one matrix product computes both:
  // gate_up[e] is [2F, H], rows 0..F-1 the gate, rows F..2F-1 the up projection.
  std::vector<float> gate_up;         // [E][2F][H]
  std::vector<float> down;            // [E][H][F]
  std::vector<float> shared_gate_up;  // [S][2Fs][H]
  std::vector<float> shared_down;     // [S][H][Fs]
  std::vector<float> shared_gate;     // [H], when shared_gate_sigmoid
  std::vector<float> gate_up_bias;    // [E][2F] (gate first), when mlp.biases
  std::vector<float> down_bias;       // [E][H], when mlp.biases
  // Which load these values come from: checkpoint layers loaded one after another into the
  // same memory get new generations, so no cache keyed on the fingerprint mistakes one layer
  // for another whose sampled values happen to match. 0 for synthetic sets.
  std::uint64_t generation = 0;

  const float* expert_gate_up(int e) const {
    return gate_up.data() + static_cast<std::size_t>(e) * 2 * static_cast<std::size_t>(ffn) *
                                static_cast<std::size_t>(hidden);
  }
  const float* expert_down(int e) const {
    return down.data() + static_cast<std::size_t>(e) * static_cast<std::size_t>(hidden) *
                             static_cast<std::size_t>(ffn);
  }
  const float* expert_gate_up_bias(int e) const {
    return mlp.biases ? gate_up_bias.data() +
                            static_cast<std::size_t>(e) * 2 * static_cast<std::size_t>(ffn)
                      : nullptr;
  }
  const float* expert_down_bias(int e) const {
    return mlp.biases
               ? down_bias.data() + static_cast<std::size_t>(e) * static_cast<std::size_t>(hidden)
               : nullptr;
  }
  std::uint64_t bytes_per_expert() const {
    return 3ull * static_cast<std::uint64_t>(hidden) * static_cast<std::uint64_t>(ffn) * 4ull;
  }
};

// A cheap identity of a weight set: its shapes, sizes and a sample of its values, so that a
// converted or uploaded copy is reused across the layers of a run and never mistaken for
// another set's.
std::vector<float> weight_fingerprint(const ExpertWeights& w);

// Bytes the weights of one layer of this spec take, before allocating them.
std::uint64_t expert_weight_bytes(const ModelSpec& spec);

// Seeded weights with the variances of a trained layer (1/H into the FFN, 1/F out of it), so
// activations keep unit scale. Timing depends on the shapes and loads, not the values, which
// is why one set is shared by all layers of a run.
ExpertWeights make_synthetic_weights(const ModelSpec& spec, std::uint64_t seed);

}  // namespace moescope
