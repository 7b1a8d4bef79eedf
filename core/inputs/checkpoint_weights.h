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

// The tensor names of one expert's (or one shared MLP's) gate, up and down projections.
struct ExpertTensorNames {
  std::string gate, up, down;
};

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
  // The same into `weights`, whose memory is reused when it holds a layer of this model
  // already (a run's layers load one after another into one set).
  void load_layer(int layer, ExpertWeights& weights) const;

  // "checkpoint(FOLDER)".
  std::string describe() const;

 private:
  // Every tensor one layer reads, under the layout its checkpoint uses: fused expert tensors or
  // one per expert, and the shared experts (gate, up, down) and their gate where the model has
  // them.
  struct LayerTensors {
    std::string fused_gate_up, fused_down;
    // gpt-oss: the fused tensors transposed ([E, H, 2F] and [E, F, H]), gate and up columns
    // interleaved, and the projections' biases.
    bool gpt_oss_layout = false;
    std::string gate_up_bias, down_bias;
    std::vector<ExpertTensorNames> experts;
    ExpertTensorNames shared;
    std::string shared_gate;
  };
  LayerTensors tensors_of(int decoder_layer) const;
  int decoder_layer_of(int layer) const;
  // Every tensor of MoE layer `layer` is there with its shape (nothing is read).
  void check_layer(int layer) const;

  const SafetensorsFile& file_of(const std::string& tensor) const;
  const TensorInfo* find(const std::string& tensor) const;
  const TensorInfo& require(const std::string& tensor,
                            const std::vector<std::int64_t>& shape) const;
  // Reads the tensor into `out`, checking its shape and that every value is finite.
  void read_into(const std::string& tensor, const std::vector<std::int64_t>& shape,
                 float* out) const;
  // Elements [first, first + count) of it, the same way (one expert of a fused tensor).
  void read_range_into(const std::string& tensor, const std::vector<std::int64_t>& shape,
                       std::uint64_t first, std::uint64_t count, float* out) const;
  void read_gpt_oss(const LayerTensors& tensors, ExpertWeights& w) const;
  void read_routed(const LayerTensors& tensors, ExpertWeights& w) const;
  void read_shared(const LayerTensors& tensors, ExpertWeights& w) const;

  std::string folder_;
  ModelSpec spec_;
  bool gpt_oss_ = false;                         // the config's model_type
  std::vector<int> decoder_layers_;              // MoE layer -> decoder layer
  std::map<std::string, std::string> shard_of_;  // tensor -> file, for sharded checkpoints
  std::map<std::string, std::unique_ptr<SafetensorsFile>> files_;  // by path
};

}  // namespace moescope
