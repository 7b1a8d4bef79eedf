#include "core/inputs/routing_source.h"

#include "core/base/random.h"

namespace moescope {

std::vector<float> synthetic_hidden_states(int tokens, int hidden, std::uint64_t seed, int step,
                                           int layer) {
  std::vector<float> x(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(hidden));
  Rng rng(
      {seed, 0x4849444Eull, static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(layer)});
  fill_uniform(x.data(), x.size(), 1.0f, rng);
  return x;
}

}  // namespace moescope
