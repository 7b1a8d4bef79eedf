#include "core/routing_source.h"

#include "core/random.h"

namespace moescope {

std::string logits_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".router_logits";
}

std::string hidden_tensor_name(int layer) {
  return "model.layers." + std::to_string(layer) + ".hidden_states";
}

std::vector<float> synthetic_hidden_states(int tokens, int hidden, std::uint64_t seed, int step,
                                           int layer) {
  std::vector<float> x(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(hidden));
  Rng rng(
      {seed, 0x4849444Eull, static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(layer)});
  fill_uniform(x.data(), x.size(), 1.0f, rng);
  return x;
}

}  // namespace moescope
