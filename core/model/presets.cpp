#include "core/model/presets.h"

#include "core/base/error.h"

namespace moescope {

namespace {

// The MoE part of each model's published config.json (the README cites the fields): MoE layers
// only (dense leading layers, first_k_dense_replace, are not counted), expert FFN sizes, and
// the router as transformers' modeling code for the architecture computes it.
struct Preset {
  const char* name;
  int layers, hidden, expert_ffn, experts, top_k, shared_experts, shared_ffn;
  bool shared_gate_sigmoid;
  RouterConfig router;
  ExpertMlp mlp{};  // plain SwiGLU unless given
};

RouterConfig softmax_router(bool norm_topk_prob) {
  RouterConfig r;
  r.norm_topk_prob = norm_topk_prob;
  return r;
}

// DeepSeek-V3's noaux_tc: sigmoid scores, a selection bias, groups by their top-2 sum.
RouterConfig sigmoid_router(int groups, int topk_groups, double scale) {
  RouterConfig r;
  r.scoring = RouterScoring::kSigmoid;
  r.groups = groups;
  r.topk_groups = topk_groups;
  r.group_score = GroupScore::kTop2Sum;
  r.norm_topk_prob = true;
  r.routed_scaling_factor = scale;
  return r;
}

// DeepSeek-V2's group_limited_greedy: softmax, groups by their largest score, no normalization.
RouterConfig group_limited_router(int groups, int topk_groups, double scale) {
  RouterConfig r;
  r.groups = groups;
  r.topk_groups = topk_groups;
  r.group_score = GroupScore::kMax;
  r.routed_scaling_factor = scale;
  return r;
}

// gpt-oss: a softmax over the top-k logits (its router's bias is in the logits).
RouterConfig softmax_after_topk_router() {
  RouterConfig r;
  r.softmax_after_topk = true;
  return r;
}

// gpt-oss's experts: clamped SwiGLU, biases on both projections (transformers' defaults).
ExpertMlp gpt_oss_mlp() {
  ExpertMlp m;
  m.activation = ExpertActivation::kClampedSwiglu;
  m.biases = true;
  return m;
}

const Preset kPresets[] = {
    {"mixtral-8x7b", 32, 4096, 14336, 8, 2, 0, 0, false, softmax_router(true)},
    {"mixtral-8x22b", 56, 6144, 16384, 8, 2, 0, 0, false, softmax_router(true)},
    {"olmoe-1b-7b", 16, 2048, 1024, 64, 8, 0, 0, false, softmax_router(false)},
    // 27 decoder layers, the first dense.
    {"deepseek-v2-lite", 26, 2048, 1408, 64, 6, 2, 1408, false, softmax_router(false)},
    // 60 decoder layers, the first dense.
    {"deepseek-v2", 59, 5120, 1536, 160, 6, 2, 1536, false, group_limited_router(8, 3, 16.0)},
    // 61 decoder layers, the first 3 dense; R1 has the same shape and router.
    {"deepseek-v3", 58, 7168, 2048, 256, 8, 1, 2048, false, sigmoid_router(8, 4, 2.5)},
    {"deepseek-r1", 58, 7168, 2048, 256, 8, 1, 2048, false, sigmoid_router(8, 4, 2.5)},
    // 61 decoder layers, the first dense; DeepSeek-V3's router with one group.
    {"kimi-k2", 60, 7168, 2048, 384, 8, 1, 2048, false, sigmoid_router(1, 1, 2.827)},
    {"qwen1.5-moe-a2.7b", 24, 2048, 1408, 60, 4, 1, 5632, true, softmax_router(false)},
    {"qwen3-30b-a3b", 48, 2048, 768, 128, 8, 0, 0, false, softmax_router(true)},
    {"qwen3-235b-a22b", 94, 4096, 1536, 128, 8, 0, 0, false, softmax_router(true)},
    {"gpt-oss-20b", 24, 2880, 2880, 32, 4, 0, 0, false, softmax_after_topk_router(), gpt_oss_mlp()},
    {"gpt-oss-120b", 36, 2880, 2880, 128, 4, 0, 0, false, softmax_after_topk_router(),
     gpt_oss_mlp()},
};

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& p : kPresets)
    names.emplace_back(p.name);
  return names;
}

ModelSpec preset(const std::string& name) {
  for (const auto& p : kPresets) {
    if (name != p.name) continue;
    ModelSpec spec;
    spec.name = name;
    spec.layers = p.layers;
    spec.hidden = p.hidden;
    spec.expert_ffn = p.expert_ffn;
    spec.experts = p.experts;
    spec.top_k = p.top_k;
    spec.shared_experts = p.shared_experts;
    spec.shared_ffn = p.shared_ffn;
    spec.shared_gate_sigmoid = p.shared_gate_sigmoid;
    spec.router = p.router;
    spec.mlp = p.mlp;
    return spec;
  }
  std::string known;
  for (const auto& n : preset_names())
    known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace moescope
