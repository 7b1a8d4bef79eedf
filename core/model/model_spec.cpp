#include "core/model/model_spec.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "core/base/error.h"

namespace moescope {

std::vector<int> ModelSpec::run_layers() const {
  if (!layer_subset.empty()) return layer_subset;
  std::vector<int> all(static_cast<std::size_t>(std::max(layers, 0)));
  std::iota(all.begin(), all.end(), 0);
  return all;
}

namespace {

void require_positive(int value, const char* field) {
  if (value <= 0) {
    throw Error(std::string("model spec: '") + field + "' must be a positive integer, got " +
                std::to_string(value));
  }
}

}  // namespace

void validate(const ModelSpec& spec) {
  require_positive(spec.layers, "layers");
  require_positive(spec.hidden, "hidden");
  require_positive(spec.expert_ffn, "expert_ffn");
  require_positive(spec.experts, "experts");
  require_positive(spec.top_k, "top_k");
  if (spec.top_k > spec.experts) {
    throw Error("model spec: 'top_k' (" + std::to_string(spec.top_k) +
                ") must not exceed 'experts' (" + std::to_string(spec.experts) + ")");
  }
  if (spec.shared_experts < 0) {
    throw Error("model spec: 'shared_experts' must not be negative");
  }
  if (spec.shared_experts > 0) require_positive(spec.shared_ffn, "shared_ffn");
  if (spec.shared_gate_sigmoid && spec.shared_experts == 0) {
    throw Error("model spec: 'shared_gate_sigmoid' needs 'shared_experts' > 0");
  }
  try {
    validate(spec.router, spec.experts, spec.top_k);
    validate(spec.mlp);
  } catch (const Error& e) {
    throw Error(std::string("model spec: ") + e.what());
  }
  // Bounds that keep every buffer size inside 64-bit arithmetic with room to spare.
  constexpr int kMaxDim = 1 << 20;
  if (spec.hidden > kMaxDim || spec.expert_ffn > kMaxDim || spec.shared_ffn > kMaxDim) {
    throw Error("model spec: 'hidden', 'expert_ffn' and 'shared_ffn' must be at most " +
                std::to_string(kMaxDim));
  }
  if (spec.experts > 4096) throw Error("model spec: 'experts' must be at most 4096");
  if (spec.shared_experts > 64) throw Error("model spec: 'shared_experts' must be at most 64");
  if (spec.layers > 4096) throw Error("model spec: 'layers' must be at most 4096");
  std::set<int> seen;
  for (int layer : spec.layer_subset) {
    if (layer < 0 || layer >= spec.layers) {
      throw Error("model spec: 'layer_subset' holds layer " + std::to_string(layer) +
                  ", outside 0.." + std::to_string(spec.layers - 1));
    }
    if (!seen.insert(layer).second) {
      throw Error("model spec: 'layer_subset' holds layer " + std::to_string(layer) + " twice");
    }
  }
}

ModelSpec scaled(const ModelSpec& spec, int scale) {
  if (scale < 1) throw Error("--scale must be a positive integer, got " + std::to_string(scale));
  ModelSpec out = spec;
  out.hidden = std::max(1, spec.hidden / scale);
  out.expert_ffn = std::max(1, spec.expert_ffn / scale);
  if (spec.shared_experts > 0) out.shared_ffn = std::max(1, spec.shared_ffn / scale);
  if (scale > 1) out.name.append("/").append(std::to_string(scale));
  return out;
}

}  // namespace moescope
