#include "core/model/spec_json.h"

#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/model/json_file.h"

namespace moescope {

using nlohmann::json;

json spec_to_json(const ModelSpec& spec) {
  json j = {{"name", spec.name},
            {"layers", spec.layers},
            {"hidden", spec.hidden},
            {"expert_ffn", spec.expert_ffn},
            {"experts", spec.experts},
            {"top_k", spec.top_k},
            {"shared_experts", spec.shared_experts},
            {"shared_ffn", spec.shared_ffn},
            {"shared_gate_sigmoid", spec.shared_gate_sigmoid},
            {"norm_topk_prob", spec.router.norm_topk_prob}};
  // The router's other settings only where they differ from the softmax router, so the specs
  // of Mixtral-like models read as they always did.
  const RouterConfig plain;
  const RouterConfig& r = spec.router;
  if (r.scoring != plain.scoring) j["scoring"] = scoring_name(r.scoring);
  if (r.groups != plain.groups || r.topk_groups != plain.topk_groups) {
    j["n_group"] = r.groups;
    j["topk_group"] = r.topk_groups;
    j["group_score"] = group_score_name(r.group_score);
  }
  if (r.softmax_after_topk) j["softmax_after_topk"] = true;
  if (r.routed_scaling_factor != plain.routed_scaling_factor) {
    j["routed_scaling_factor"] = r.routed_scaling_factor;
  }
  // Likewise the experts' activation, only where it is not the plain SwiGLU.
  const ExpertMlp& m = spec.mlp;
  if (m.clamped()) {
    j["activation"] = activation_name(m.activation);
    j["swiglu_alpha"] = m.swiglu_alpha;
    j["swiglu_limit"] = m.swiglu_limit;
  }
  if (m.biases) j["expert_biases"] = true;
  if (!spec.layer_subset.empty()) j["layer_subset"] = spec.layer_subset;
  return j;
}

namespace {

const std::set<std::string> kFields = {"name",
                                       "layers",
                                       "hidden",
                                       "expert_ffn",
                                       "experts",
                                       "top_k",
                                       "shared_experts",
                                       "shared_ffn",
                                       "shared_gate_sigmoid",
                                       "norm_topk_prob",
                                       "scoring",
                                       "n_group",
                                       "topk_group",
                                       "group_score",
                                       "softmax_after_topk",
                                       "routed_scaling_factor",
                                       "activation",
                                       "swiglu_alpha",
                                       "swiglu_limit",
                                       "expert_biases",
                                       "layer_subset"};

int read_int(const json& value, const std::string& field, const std::string& where) {
  if (!value.is_number_integer()) {
    throw Error(where + ": field '" + field + "' must be an integer, got " + value.dump());
  }
  const auto v = value.get<long long>();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    throw Error(where + ": field '" + field + "' is out of range: " + value.dump());
  }
  return static_cast<int>(v);
}

std::string read_string(const json& value, const std::string& field) {
  if (!value.is_string())
    throw Error("field '" + field + "' must be a string, got " + value.dump());
  return value.get<std::string>();
}

}  // namespace

ModelSpec spec_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": a model spec must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (!kFields.contains(key)) throw Error(where + ": unknown field '" + key + "'");
  }
  for (const char* required : {"layers", "hidden", "expert_ffn", "experts", "top_k"}) {
    if (!j.contains(required)) throw Error(where + ": missing field '" + required + "'");
  }
  ModelSpec spec;
  if (j.contains("name")) {
    if (!j["name"].is_string()) throw Error(where + ": field 'name' must be a string");
    spec.name = j["name"].get<std::string>();
  }
  spec.layers = read_int(j["layers"], "layers", where);
  spec.hidden = read_int(j["hidden"], "hidden", where);
  spec.expert_ffn = read_int(j["expert_ffn"], "expert_ffn", where);
  spec.experts = read_int(j["experts"], "experts", where);
  spec.top_k = read_int(j["top_k"], "top_k", where);
  if (j.contains("shared_experts")) {
    spec.shared_experts = read_int(j["shared_experts"], "shared_experts", where);
  }
  if (j.contains("shared_ffn")) spec.shared_ffn = read_int(j["shared_ffn"], "shared_ffn", where);
  for (const char* flag :
       {"shared_gate_sigmoid", "norm_topk_prob", "softmax_after_topk", "expert_biases"}) {
    if (j.contains(flag) && !j[flag].is_boolean()) {
      throw Error(where + ": field '" + flag + "' must be true or false");
    }
  }
  spec.shared_gate_sigmoid = j.value("shared_gate_sigmoid", false);
  RouterConfig& router = spec.router;
  router.norm_topk_prob = j.value("norm_topk_prob", false);
  router.softmax_after_topk = j.value("softmax_after_topk", false);
  spec.mlp.biases = j.value("expert_biases", false);
  try {
    if (j.contains("scoring")) router.scoring = parse_scoring(read_string(j["scoring"], "scoring"));
    if (j.contains("activation")) {
      spec.mlp.activation = parse_activation(read_string(j["activation"], "activation"));
    }
    if (j.contains("group_score")) {
      router.group_score = parse_group_score(read_string(j["group_score"], "group_score"));
    }
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  if (j.contains("n_group")) router.groups = read_int(j["n_group"], "n_group", where);
  router.topk_groups = router.groups;
  if (j.contains("topk_group")) router.topk_groups = read_int(j["topk_group"], "topk_group", where);
  if (j.contains("routed_scaling_factor")) {
    const json& v = j["routed_scaling_factor"];
    if (!v.is_number()) {
      throw Error(where + ": field 'routed_scaling_factor' must be a number, got " + v.dump());
    }
    router.routed_scaling_factor = v.get<double>();
  }
  for (auto [field, value] : {std::pair{"swiglu_alpha", &spec.mlp.swiglu_alpha},
                              std::pair{"swiglu_limit", &spec.mlp.swiglu_limit}}) {
    if (!j.contains(field)) continue;
    if (!spec.mlp.clamped()) {
      throw Error(where + ": field '" + field +
                  "' needs \"activation\": \"clamped_swiglu\" (plain SwiGLU has no clamp)");
    }
    if (!j[field].is_number()) {
      throw Error(where + ": field '" + field + "' must be a number, got " + j[field].dump());
    }
    *value = j[field].get<double>();
  }
  if (j.contains("layer_subset")) {
    if (!j["layer_subset"].is_array()) {
      throw Error(where + ": field 'layer_subset' must be an array of layer indices");
    }
    for (const auto& v : j["layer_subset"]) {
      spec.layer_subset.push_back(read_int(v, "layer_subset", where));
    }
  }
  try {
    validate(spec);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return spec;
}

ModelSpec load_spec_file(const std::string& path) {
  return spec_from_json(read_json_file(path, "model spec"), path);
}

void save_spec_file(const ModelSpec& spec, const std::string& path) {
  write_file_atomically(path, json_text(spec_to_json(spec), 2) + "\n", "the model spec");
}

}  // namespace moescope
