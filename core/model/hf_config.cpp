#include "core/model/hf_config.h"

#include <filesystem>
#include <limits>
#include <set>

#include "core/base/error.h"
#include "core/model/json_file.h"
#include "core/model/spec_json.h"

namespace moescope {

using nlohmann::json;

namespace {

// Reads the fields of one config, each error naming the file and the field.
class ConfigFields {
 public:
  ConfigFields(const json& config, std::string where) : config_(config), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(where_ + ": field '" + field + "' " + what);
  }
  bool has(const std::string& field) const {
    return config_.contains(field) && !config_[field].is_null();
  }
  bool present_but_null(const std::string& field) const {
    return config_.contains(field) && config_[field].is_null();
  }
  const json& required(const std::string& field) const {
    if (!has(field)) {
      fail(field, "is missing (the " + config_.value("model_type", std::string("?")) +
                      " architecture needs it)");
    }
    return config_[field];
  }
  int integer(const std::string& field) const {
    const json& v = required(field);
    if (!v.is_number_integer()) fail(field, "must be an integer, got " + v.dump());
    const auto value = v.get<long long>();
    if (value < 0 || value > std::numeric_limits<int>::max()) {
      fail(field, "is out of range: " + v.dump());
    }
    return static_cast<int>(value);
  }
  // transformers' attribute_map lets a config name a field either way (Qwen3-MoE's published
  // config says num_experts, transformers 5 writes num_local_experts): the first present.
  int integer_named(const std::string& field, const std::string& alias) const {
    return !has(field) && has(alias) ? integer(alias) : integer(field);
  }
  int integer_or(const std::string& field, int fallback) const {
    return has(field) ? integer(field) : fallback;
  }
  double number(const std::string& field) const {
    const json& v = required(field);
    if (!v.is_number()) fail(field, "must be a number, got " + v.dump());
    return v.get<double>();
  }
  bool flag(const std::string& field) const {
    const json& v = required(field);
    if (!v.is_boolean()) fail(field, "must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string text(const std::string& field) const {
    const json& v = required(field);
    if (!v.is_string()) fail(field, "must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  // Requires `field`, when present, to hold `expected`: a value the architecture's code
  // cannot follow would otherwise be silently ignored.
  void expect_text(const std::string& field, const std::string& expected) const {
    if (has(field) && text(field) != expected) {
      fail(field, "is '" + text(field) + "'; this architecture computes '" + expected + "'");
    }
  }
  std::vector<int> integers_or_empty(const std::string& field) const {
    std::vector<int> out;
    if (!has(field)) return out;
    if (!config_[field].is_array()) fail(field, "must be a list of layer indices");
    for (const auto& v : config_[field]) {
      if (!v.is_number_integer() || v.get<long long>() < 0 ||
          v.get<long long>() > std::numeric_limits<int>::max()) {
        fail(field, "must be a list of layer indices, got " + v.dump());
      }
      out.push_back(v.get<int>());
    }
    return out;
  }
  bool flag_or(const std::string& field, bool fallback) const {
    return has(field) ? flag(field) : fallback;
  }
  double number_or(const std::string& field, double fallback) const {
    return has(field) ? number(field) : fallback;
  }

 private:
  const json& config_;
  std::string where_;
};

// Mixtral: every layer an MoE layer, softmax, top-k weights always normalized.
void read_mixtral(const ConfigFields& f, ModelSpec& spec) {
  spec.expert_ffn = f.integer("intermediate_size");
  spec.experts = f.integer_named("num_local_experts", "num_experts");
  spec.router.norm_topk_prob = true;
}

// gpt-oss: every layer an MoE layer; the router takes the softmax of the top-k logits, the
// experts a clamped SwiGLU with biases (the published configs give swiglu_limit; alpha is
// transformers' constant unless a config says otherwise).
void read_gpt_oss(const ConfigFields& f, ModelSpec& spec) {
  spec.expert_ffn = f.integer("intermediate_size");
  spec.experts = f.integer_named("num_local_experts", "num_experts");
  spec.router.softmax_after_topk = true;
  spec.mlp.activation = ExpertActivation::kClampedSwiglu;
  spec.mlp.biases = true;
  const ExpertMlp defaults;
  for (const char* field : {"swiglu_alpha", "swiglu_limit"}) {
    if (f.present_but_null(field)) f.fail(field, "is null; gpt-oss's experts need a number");
  }
  spec.mlp.swiglu_alpha = f.number_or("swiglu_alpha", defaults.swiglu_alpha);
  spec.mlp.swiglu_limit = f.number_or("swiglu_limit", defaults.swiglu_limit);
}

void read_olmoe(const ConfigFields& f, ModelSpec& spec) {
  spec.expert_ffn = f.integer("intermediate_size");
  spec.experts = f.integer_named("num_experts", "num_local_experts");
  spec.router.norm_topk_prob = f.flag_or("norm_topk_prob", false);  // transformers' default
}

// The decoder layers that hold an MoE block, in order. Qwen-MoE: layer i unless listed in
// mlp_only_layers or (i + 1) is not a multiple of decoder_sparse_step. DeepSeek and Kimi: all
// after the first first_k_dense_replace. The others: every layer.
std::vector<int> moe_decoder_layers(const ConfigFields& f, const std::string& type) {
  const int decoder_layers = f.integer("num_hidden_layers");
  constexpr int kMaxDecoderLayers = 1 << 16;  // bounds the list before it is built
  if (decoder_layers < 1 || decoder_layers > kMaxDecoderLayers) {
    f.fail("num_hidden_layers", "must be from 1 to " + std::to_string(kMaxDecoderLayers) +
                                    ", got " + std::to_string(decoder_layers));
  }
  std::vector<int> out;
  if (type == "qwen2_moe" || type == "qwen3_moe") {
    const int step = f.integer_or("decoder_sparse_step", 1);
    if (step < 1) f.fail("decoder_sparse_step", "must be at least 1");
    const std::vector<int> dense = f.integers_or_empty("mlp_only_layers");
    const std::set<int> dense_set(dense.begin(), dense.end());
    for (int i = 0; i < decoder_layers; ++i) {
      if (!dense_set.contains(i) && (i + 1) % step == 0) out.push_back(i);
    }
  } else if (type == "deepseek_v2" || type == "deepseek_v3" || type == "kimi_k2") {
    const int dense = f.integer("first_k_dense_replace");
    if (dense >= decoder_layers) {
      f.fail("first_k_dense_replace",
             "leaves no MoE layer of the " + std::to_string(decoder_layers) + " decoder layers");
    }
    if (f.integer_or("moe_layer_freq", 1) != 1) {
      f.fail("moe_layer_freq", "is not 1: transformers puts an MoE block in every later layer");
    }
    for (int i = dense; i < decoder_layers; ++i)
      out.push_back(i);
  } else {
    for (int i = 0; i < decoder_layers; ++i)
      out.push_back(i);
  }
  return out;
}

// Qwen2-MoE adds one sigmoid-gated shared expert.
void read_qwen_moe(const ConfigFields& f, ModelSpec& spec, bool shared_expert) {
  spec.expert_ffn = f.integer("moe_intermediate_size");
  spec.experts = f.integer_named("num_experts", "num_local_experts");
  spec.router.norm_topk_prob = f.flag_or("norm_topk_prob", false);  // transformers' default
  if (shared_expert && f.integer("shared_expert_intermediate_size") > 0) {
    spec.shared_experts = 1;
    spec.shared_ffn = f.integer("shared_expert_intermediate_size");
    spec.shared_gate_sigmoid = true;
  }
}

// DeepSeek-V2 and V3: the first first_k_dense_replace layers are dense; the shared experts are
// n_shared_experts of moe_intermediate_size each.
void read_deepseek_shape(const ConfigFields& f, ModelSpec& spec) {
  spec.expert_ffn = f.integer("moe_intermediate_size");
  spec.experts = f.integer_named("n_routed_experts", "num_local_experts");
  spec.shared_experts = f.integer("n_shared_experts");
  spec.shared_ffn = spec.shared_experts > 0 ? spec.expert_ffn : 0;
  spec.router.routed_scaling_factor = f.number("routed_scaling_factor");
  spec.router.norm_topk_prob = f.flag("norm_topk_prob");
}

void read_deepseek_v2(const ConfigFields& f, ModelSpec& spec) {
  read_deepseek_shape(f, spec);
  // DeepSeek-V2's own modeling code normalizes the top-k weights (when top_k > 1 and
  // norm_topk_prob) or scales them, never both (transformers 5 only scales; every published V2
  // config has norm_topk_prob false).
  if (spec.router.norm_topk_prob && f.integer("num_experts_per_tok") > 1) {
    spec.router.routed_scaling_factor = 1.0;
  } else {
    spec.router.norm_topk_prob = false;
  }
  f.expect_text("scoring_func", "softmax");
  const std::string method = f.text("topk_method");
  if (method == "group_limited_greedy") {
    spec.router.groups = f.integer("n_group");
    spec.router.topk_groups = f.integer("topk_group");
    spec.router.group_score = GroupScore::kMax;
  } else if (method != "greedy") {
    f.fail("topk_method", "is '" + method + "' (expected greedy or group_limited_greedy)");
  }
}

void read_deepseek_v3(const ConfigFields& f, ModelSpec& spec) {
  read_deepseek_shape(f, spec);
  f.expect_text("scoring_func", "sigmoid");
  f.expect_text("topk_method", "noaux_tc");
  spec.router.scoring = RouterScoring::kSigmoid;
  spec.router.groups = f.integer("n_group");
  spec.router.topk_groups = f.integer("topk_group");
  spec.router.group_score = GroupScore::kTop2Sum;
}

}  // namespace

std::vector<std::string> hf_model_types() {
  return {"mixtral",     "olmoe",       "qwen2_moe", "qwen3_moe",
          "deepseek_v2", "deepseek_v3", "kimi_k2",   "gpt_oss"};
}

ModelSpec spec_from_hf_config(const json& config, const std::string& where) {
  if (!config.is_object()) throw Error(where + ": a config.json must be a JSON object");
  const ConfigFields f(config, where);
  const std::string type = f.text("model_type");
  ModelSpec spec;
  spec.name = type;
  if (type == "mixtral") {
    read_mixtral(f, spec);
  } else if (type == "olmoe") {
    read_olmoe(f, spec);
  } else if (type == "qwen2_moe" || type == "qwen3_moe") {
    read_qwen_moe(f, spec, type == "qwen2_moe");
  } else if (type == "deepseek_v2") {
    read_deepseek_v2(f, spec);
  } else if (type == "deepseek_v3" || type == "kimi_k2") {
    read_deepseek_v3(f, spec);
  } else if (type == "gpt_oss") {
    read_gpt_oss(f, spec);
  } else {
    std::string known;
    for (const auto& t : hf_model_types())
      known += (known.empty() ? "" : ", ") + t;
    throw Error(where + ": model_type '" + type + "' is not an MoE architecture MoEScope reads (" +
                known + ")");
  }
  spec.layers = static_cast<int>(moe_decoder_layers(f, type).size());
  spec.hidden = f.integer("hidden_size");
  spec.top_k = f.integer("num_experts_per_tok");
  if (f.has("hidden_act") && f.text("hidden_act") != "silu") {
    f.fail("hidden_act", "is '" + f.text("hidden_act") + "'; the experts compute SwiGLU (silu)");
  }
  try {
    validate(spec);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return spec;
}

std::vector<int> hf_moe_decoder_layers(const json& config, const std::string& where) {
  if (!config.is_object()) throw Error(where + ": a config.json must be a JSON object");
  const ConfigFields f(config, where);
  return moe_decoder_layers(f, f.text("model_type"));
}

std::string hf_config_path(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return path;
  const std::string file = (std::filesystem::path(path) / "config.json").string();
  if (!std::filesystem::exists(file, ec)) throw Error(path + ": the folder holds no config.json");
  return file;
}

namespace {

// The spec of the parsed config `config` read from `path` (a config file or a model folder),
// named after the model folder, or after the file when it is not a folder's config.json.
ModelSpec named_spec(const json& config, const std::string& path, const std::string& file) {
  namespace fs = std::filesystem;
  ModelSpec spec = spec_from_hf_config(config, file);
  std::error_code ec;
  const bool is_folder = fs::is_directory(path, ec);
  const fs::path folder = is_folder ? fs::path(path) : fs::path(file).parent_path();
  const std::string name = is_folder || fs::path(file).filename() == "config.json"
                               ? fs::weakly_canonical(folder, ec).filename().string()
                               : fs::path(file).stem().string();
  if (!name.empty()) spec.name = name;
  return spec;
}

}  // namespace

ModelSpec load_hf_config(const std::string& path) {
  const std::string file = hf_config_path(path);
  return named_spec(read_json_file(file, "Hugging Face config"), path, file);
}

ModelSpec load_model_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_hf_config(path);
  const json j = read_json_file(path, "model spec");
  if (j.is_object() && j.contains("model_type")) return named_spec(j, path, path);
  return spec_from_json(j, path);
}

}  // namespace moescope
