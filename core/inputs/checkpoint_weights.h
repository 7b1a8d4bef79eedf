// Expert weights from a Hugging Face checkpoint: the routed experts, the shared experts and the
// shared-expert gate of each MoE layer, read from the model's safetensors files (one file, or
// shards listed by model.safetensors.index.json) one layer at a time.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/inputs/safetensors.h"
#include "core/model/expert_weights.h"
#include "core/model/model_spec.h"

namespace moescope {

class CheckpointWeights {
 public:
  // Opens the model folder `folder` (its config.json and safetensors files) for a run of
  // `spec`. Throws Error naming the file and what is wrong: no config or no weights, an index
  // naming a missing shard, a truncated shard, or a config whose MoE shape is not `spec`'s (a
  // checkpoint of another model, or a spec scaled down from it).
  CheckpointWeights(const std::string& folder, const ModelSpec& spec);

  // MoE layer `layer`'s weights in fp32 (BF16 and F16 converted). Throws Error naming the file
  // and the tensor for a tensor that is missing, of another dtype or of the wrong shape.
  ExpertWeights layer(int layer) const;

  // "checkpoint(FOLDER)".
  std::string describe() const;

 private:
  const SafetensorsFile& file_of(const std::string& tensor) const;
  const TensorInfo* find(const std::string& tensor) const;
  std::vector<float> read(const std::string& tensor, std::int64_t rows, std::int64_t cols) const;
  void read_routed(int decoder_layer, ExpertWeights& w) const;
  void read_shared(int decoder_layer, ExpertWeights& w) const;

  std::string folder_;
  ModelSpec spec_;
  std::vector<int> decoder_layers_;              // MoE layer -> decoder layer
  std::map<std::string, std::string> shard_of_;  // tensor -> file, for sharded checkpoints
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files_;  // by path
};

}  // namespace moescope
