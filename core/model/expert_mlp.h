// What one routed expert computes between its projections (shared/ALGORITHMS.md does not yet
// say; README, "Expert activations"): SwiGLU, or gpt-oss's clamped SwiGLU with biases on both
// projections.
#pragma once

#include <math.h>

#include <string>

#include "core/base/host_device.h"

namespace moescope {

enum class ExpertActivation {
  kSwiglu,         // silu(gate) * up (Mixtral, Qwen, DeepSeek, Kimi)
  kClampedSwiglu,  // gpt-oss: min(gate, l) * sigmoid(a * min(gate, l)) * (clamp(up, -l, l) + 1)
};

struct ExpertMlp {
  ExpertActivation activation = ExpertActivation::kSwiglu;
  // As the config writes them (so a spec round-trips as written), computed in fp32.
  double swiglu_alpha = 1.702;  // the clamped SwiGLU's sigmoid gain (transformers' default)
  double swiglu_limit = 7.0;    // its clamp (transformers' default)
  bool biases = false;          // the gate/up and down projections add a per-expert bias

  bool clamped() const { return activation == ExpertActivation::kClampedSwiglu; }
  // Whether the plain SwiGLU of bias-free projections is enough (the fused fast paths).
  bool plain() const { return !clamped() && !biases; }
};

// Spelled out rather than defaulted: CUDA sources include this header and compile as C++17.
// Alpha and limit change nothing without the clamp, and are not compared; with it they are
// compared in fp32, the precision they compute in.
inline bool operator==(const ExpertMlp& a, const ExpertMlp& b) {
  const auto same = [](double x, double y) {
    return static_cast<float>(x) == static_cast<float>(y);
  };
  return a.activation == b.activation && a.biases == b.biases &&
         (!a.clamped() ||
          (same(a.swiglu_alpha, b.swiglu_alpha) && same(a.swiglu_limit, b.swiglu_limit)));
}
inline bool operator!=(const ExpertMlp& a, const ExpertMlp& b) {
  return !(a == b);
}

// One element of the activation, from the gate and up projections (biases already added).
MOESCOPE_HD inline float clamped_swiglu(float gate, float up, float alpha, float limit) {
  // fminf/fmaxf would turn a NaN into the limit; a NaN must stay visible, as in PyTorch.
  gate = gate > limit ? limit : gate;
  up = up > limit ? limit : (up < -limit ? -limit : up);
  return gate / (1.0f + expf(-alpha * gate)) * (up + 1.0f);
}

std::string activation_name(ExpertActivation activation);
// Throws Error naming the accepted names.
ExpertActivation parse_activation(const std::string& name);

// Throws Error naming the field: alpha and limit finite and positive.
void validate(const ExpertMlp& mlp);

// "SwiGLU", "clamped SwiGLU (alpha 1.702, limit 7) with biases".
std::string describe(const ExpertMlp& mlp);

}  // namespace moescope
