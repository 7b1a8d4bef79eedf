// The expert weights each layer of a run computes with: one seeded synthetic set shared by all
// layers (timing depends on shapes and loads, not values), or each layer's own weights from a
// Hugging Face checkpoint. Checkpoint layers stay in memory across steps when all the layers
// the run visits fit in half the memory available; otherwise each layer loads when it comes,
// into the previous layer's memory.
#pragma once

#include <map>
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

  // Checkpoint layers read so far (each read of a layer counts).
  int loads() const { return loads_; }
  // Whether every layer the run visits stays in memory once read.
  bool keeps_all_layers() const { return keep_all_; }

 private:
  std::optional<CheckpointWeights> checkpoint_;
  ExpertWeights current_;
  int current_layer_ = -1;
  bool keep_all_ = false;
  std::map<int, ExpertWeights> kept_;  // by layer, when keep_all_
  int loads_ = 0;
  std::uint64_t seed_ = 0;
};

}  // namespace moescope
