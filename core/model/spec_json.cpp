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
            {"norm_topk_prob", spec.norm_topk_prob}};
  if (!spec.layer_subset.empty()) j["layer_subset"] = spec.layer_subset;
  return j;
}

namespace {

const std::set<std::string> kFields = {"name",           "layers",      "hidden",
                                       "expert_ffn",     "experts",     "top_k",
                                       "shared_experts", "shared_ffn",  "shared_gate_sigmoid",
                                       "norm_topk_prob", "layer_subset"};

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
  for (const char* flag : {"shared_gate_sigmoid", "norm_topk_prob"}) {
    if (j.contains(flag) && !j[flag].is_boolean()) {
      throw Error(where + ": field '" + flag + "' must be true or false");
    }
  }
  spec.shared_gate_sigmoid = j.value("shared_gate_sigmoid", false);
  spec.norm_topk_prob = j.value("norm_topk_prob", false);
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
