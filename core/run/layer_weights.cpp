#include "core/run/layer_weights.h"

#include "core/base/memory_check.h"

namespace moescope {

LayerWeights::LayerWeights(const ModelSpec& spec, std::uint64_t seed,
                           const std::string& weights_dir)
    : seed_(seed) {
  if (weights_dir.empty()) {
    current_ = make_synthetic_weights(spec, seed);
    return;
  }
  checkpoint_.emplace(weights_dir, spec);
  // Steps repeat the layers: keeping them saves reading the checkpoint again every step.
  const std::uint64_t all = expert_weight_bytes(spec) * spec.run_layers().size();
  keep_all_ = all <= available_memory_bytes() / 2;
}

const ExpertWeights& LayerWeights::of(int layer) {
  if (!checkpoint_) return current_;
  if (keep_all_) {
    const auto it = kept_.find(layer);
    if (it != kept_.end()) return it->second;
    ExpertWeights w;
    checkpoint_->load_layer(layer, w);  // kept only once it loaded whole
    ++loads_;
    return kept_.emplace(layer, std::move(w)).first->second;
  }
  if (layer != current_layer_) {
    current_layer_ = -1;                       // until the load completes
    checkpoint_->load_layer(layer, current_);  // into the previous layer's memory
    ++loads_;
    current_layer_ = layer;
  }
  return current_;
}

std::string LayerWeights::describe() const {
  return checkpoint_ ? checkpoint_->describe() : "synthetic(seed=" + std::to_string(seed_) + ")";
}

}  // namespace moescope
