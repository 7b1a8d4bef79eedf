// The expert weights each layer of a run computes with: one seeded synthetic set shared by all
// layers (timing depends on shapes and loads, not values), or each layer's own weights from a
// Hugging Face checkpoint, loaded when its layer comes and freed when the next one does.
#pragma once

#include <optional>
#include <string>

#include "core/inputs/checkpoint_weights.h"
#include "core/model/expert_weights.h"
#include "core/model/model_spec.h"

namespace moescope {

class LayerWeights {
 public:
  // Opens the checkpoint when `weights_dir` is given (throws Error as CheckpointWeights does).
  LayerWeights(const ModelSpec& spec, std::uint64_t seed, const std::string& weights_dir);

  // The weights of MoE layer `layer`; valid until the next call.
  const ExpertWeights& of(int layer);

  // "synthetic(seed=S)" or "checkpoint(FOLDER)".
  std::string describe() const;

 private:
  std::optional<CheckpointWeights> checkpoint_;
  ExpertWeights current_;
  int current_layer_ = -1;
  std::uint64_t seed_ = 0;
};

}  // namespace moescope
