// Synthetic routing: z = x . W_r^T + skew * b_layer, where x has unit variance, the router
// weights W_r have variance 1/H (so x . w_e has unit variance, like a trained router's logits)
// and b_layer is one standard-normal popularity bias per expert and layer.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/base/blas.h"
#include "core/base/error.h"
#include "core/base/random.h"
#include "core/inputs/synthetic_routing.h"

namespace moescope {

namespace {

class SyntheticRouting final : public RoutingSource {
 public:
  SyntheticRouting(const ModelSpec& spec, const SyntheticRoutingConfig& config)
      : spec_(spec), config_(config) {}

  int tokens() const override { return config_.tokens; }

  std::string describe() const override {
    std::ostringstream out;
    out << "synthetic(seed=" << config_.seed << ", skew=" << config_.skew;
    if (config_.drift > 0) out << ", drift=" << config_.drift;
    out << ")";
    return out.str();
  }

  LayerInput layer(int step, int layer) override {
    const int T = config_.tokens;
    const int H = spec_.hidden;
    const int E = spec_.experts;
    LayerInput in;
    in.tokens = T;
    in.hidden_states = synthetic_hidden_states(T, H, config_.seed, step, layer);
    // The router and its bias belong to the layer, not the step: hot experts stay hot.
    Rng rng({config_.seed, 0x524F5554ull, static_cast<std::uint64_t>(layer)});
    std::vector<float> router(static_cast<std::size_t>(E) * static_cast<std::size_t>(H));
    fill_uniform(router.data(), router.size(), 1.0f / std::sqrt(static_cast<float>(H)), rng);
    std::vector<float> bias(static_cast<std::size_t>(E));
    for (auto& b : bias)
      b = static_cast<float>(config_.skew * rng.normal());
    if (config_.drift > 0) {
      const auto shift = static_cast<std::int64_t>(std::floor(step * config_.drift)) % E;
      std::rotate(bias.begin(), bias.end() - shift, bias.end());
    }
    in.logits.resize(static_cast<std::size_t>(T) * static_cast<std::size_t>(E));
    for (std::size_t t = 0; t < static_cast<std::size_t>(T); ++t) {
      std::copy(bias.begin(), bias.end(),
                in.logits.begin() + static_cast<std::ptrdiff_t>(t * bias.size()));
    }
    // logits = bias + hidden . router^T, on this thread: the layer's timed products follow.
    blas::multiply_transposed_on_this_thread(T, E, H, in.hidden_states.data(), H, router.data(), H,
                                             1.0f, in.logits.data(), E);
    return in;
  }

 private:
  ModelSpec spec_;
  SyntheticRoutingConfig config_;
};

}  // namespace

std::unique_ptr<RoutingSource> make_synthetic_routing(const ModelSpec& spec,
                                                      const SyntheticRoutingConfig& config) {
  if (config.tokens <= 0) {
    throw Error("tokens must be a positive integer, got " + std::to_string(config.tokens));
  }
  if (!std::isfinite(config.skew) || config.skew < 0 || config.skew > 1e6) {
    std::ostringstream v;
    v << config.skew;
    throw Error("skew must be a number from 0 to 1e6, got " + v.str());
  }
  if (!std::isfinite(config.drift) || config.drift < 0 || config.drift > 1e6) {
    std::ostringstream v;
    v << config.drift;
    throw Error("drift must be a number from 0 to 1e6 (experts per step), got " + v.str());
  }
  return std::make_unique<SyntheticRouting>(spec, config);
}

}  // namespace moescope
