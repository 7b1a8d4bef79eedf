#include "core/model/presets.h"

#include "core/base/error.h"

namespace moescope {

std::vector<std::string> preset_names() {
  return {"mixtral-8x7b", "olmoe-1b-7b", "deepseek-v2-lite", "qwen1.5-moe-a2.7b"};
}

ModelSpec preset(const std::string& name) {
  ModelSpec spec;
  spec.name = name;
  if (name == "mixtral-8x7b") {
    spec.layers = 32, spec.hidden = 4096, spec.expert_ffn = 14336, spec.experts = 8;
    spec.top_k = 2, spec.norm_topk_prob = true;
  } else if (name == "olmoe-1b-7b") {
    spec.layers = 16, spec.hidden = 2048, spec.expert_ffn = 1024, spec.experts = 64;
    spec.top_k = 8;
  } else if (name == "deepseek-v2-lite") {
    // 27 decoder layers, the first dense: 26 MoE layers.
    spec.layers = 26, spec.hidden = 2048, spec.expert_ffn = 1408, spec.experts = 64;
    spec.top_k = 6, spec.shared_experts = 2, spec.shared_ffn = 1408;
  } else if (name == "qwen1.5-moe-a2.7b") {
    spec.layers = 24, spec.hidden = 2048, spec.expert_ffn = 1408, spec.experts = 60;
    spec.top_k = 4, spec.shared_experts = 1, spec.shared_ffn = 5632;
    spec.shared_gate_sigmoid = true;
  } else {
    std::string known;
    for (const auto& n : preset_names())
      known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown preset '" + name + "' (known: " + known + ")");
  }
  return spec;
}

}  // namespace moescope
