#include "core/run/layer_weights.h"

namespace moescope {

LayerWeights::LayerWeights(const ModelSpec& spec, std::uint64_t seed,
                           const std::string& weights_dir)
    : seed_(seed) {
  if (weights_dir.empty()) {
    current_ = make_synthetic_weights(spec, seed);
  } else {
    checkpoint_.emplace(weights_dir, spec);
  }
}

const ExpertWeights& LayerWeights::of(int layer) {
  if (checkpoint_ && layer != current_layer_) {
    current_layer_ = -1;                       // until the load completes
    checkpoint_->load_layer(layer, current_);  // into the previous layer's memory
    current_layer_ = layer;
  }
  return current_;
}

std::string LayerWeights::describe() const {
  return checkpoint_ ? checkpoint_->describe() : "synthetic(seed=" + std::to_string(seed_) + ")";
}

}  // namespace moescope
