#include "app/cli/route_command.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/memory_check.h"
#include "core/inputs/safetensors.h"
#include "core/model/json_file.h"
#include "core/moe/load_metrics.h"
#include "core/moe/placement.h"
#include "core/moe/policy.h"
#include "core/moe/router.h"

namespace moescope::cli {

namespace {

struct RouteArgs {
  std::string logits;
  std::string tensor;
  int top_k = 0;
  std::string policy;
  double gamma = 1.0;
  std::string priority = "score";
  std::int64_t seed = 0;
  int devices = 1;
  int m = 0;
  std::string reroute_scope = "any";
  std::string capacity_scope = "global";
  bool norm_topk = false;
  std::string scoring = "softmax";
  int groups = 1;
  int topk_groups = 0;  // 0: every group
  std::string group_score = "max";
  double routed_scaling_factor = 1.0;
  bool softmax_after_topk = false;
  std::string bias_tensor;
  bool renormalize = false;
  std::string format = "json";
};

// A load dump's chosen experts are not logits: routing them would read ids as scores.
const TensorInfo& not_chosen_experts(const SafetensorsFile& file, const TensorInfo& t) {
  if (t.name.ends_with(".topk_ids")) {
    throw Error(file.path() + ": tensor '" + t.name +
                "' holds chosen experts (a load dump), not router logits; replay it with "
                "`moescope-cli run --logits`");
  }
  return t;
}

const TensorInfo& pick_tensor(const SafetensorsFile& file, const std::string& name) {
  if (!name.empty()) {
    if (const TensorInfo* t = file.find(name)) return not_chosen_experts(file, *t);
    throw Error(file.path() + ": no tensor named '" + name + "'");
  }
  std::vector<const TensorInfo*> matrices;
  for (const auto& t : file.tensors()) {
    if (t.shape.size() == 2) matrices.push_back(&t);
  }
  if (matrices.size() == 1) return not_chosen_experts(file, *matrices.front());
  if (matrices.empty()) throw Error(file.path() + ": holds no 2-D tensor of router logits");
  std::string names;
  for (const auto* t : matrices)
    names += (names.empty() ? "" : ", ") + t->name;
  throw Error(file.path() + ": holds several 2-D tensors (" + names +
              "); choose one with --tensor");
}

// The layer's selection bias: a 1-D tensor of one value per expert in the logits' file.
std::vector<float> read_bias(const SafetensorsFile& file, const std::string& name,
                             std::int64_t experts) {
  const TensorInfo* t = file.find(name);
  if (t == nullptr) throw Error(file.path() + ": no tensor named '" + name + "' (--bias-tensor)");
  if (t->shape.size() != 1 || t->shape[0] != experts) {
    throw Error(file.path() + ": the selection bias '" + name + "' must be 1-D with the " +
                std::to_string(experts) + " experts of the logits");
  }
  return file.read_f32(*t);
}

void run_route(const RouteArgs& args) {
  PolicyConfig config;
  config.kind = parse_policy(args.policy);
  config.gamma = args.gamma;
  config.priority = parse_priority(args.priority);
  config.seed = static_cast<std::uint64_t>(args.seed);
  config.m = args.m;
  config.reroute_scope = parse_reroute_scope(args.reroute_scope);
  config.capacity_scope = parse_capacity_scope(args.capacity_scope);
  config.renormalize = args.renormalize;
  validate(config);

  const SafetensorsFile file(args.logits);
  const TensorInfo& tensor = pick_tensor(file, args.tensor);
  if (tensor.shape.size() != 2) {
    throw Error(file.path() + ": tensor '" + tensor.name +
                "' must be 2-D [tokens, experts], it has " + std::to_string(tensor.shape.size()) +
                " dimensions");
  }
  const std::int64_t tokens = tensor.shape[0];
  const std::int64_t experts = tensor.shape[1];
  if (tokens < 1 || tokens > (1 << 30)) {
    throw Error(file.path() + ": tensor '" + tensor.name + "' has " + std::to_string(tokens) +
                " tokens (must be 1 to 2^30)");
  }
  if (experts < 1 || experts > 4096) {
    throw Error(file.path() + ": tensor '" + tensor.name + "' has " + std::to_string(experts) +
                " experts (must be 1 to 4096)");
  }
  if (args.top_k < 1 || args.top_k > experts) {
    throw Error("--top-k must be between 1 and the tensor's " + std::to_string(experts) +
                " experts, got " + std::to_string(args.top_k));
  }
  // Logits and probabilities, the reroute bookkeeping, and the pairs with their JSON text.
  require_memory(
      static_cast<std::uint64_t>(tokens) * static_cast<std::uint64_t>(experts) * 13 +
          static_cast<std::uint64_t>(tokens) *
              static_cast<std::uint64_t>(args.top_k + std::min<std::int64_t>(args.m, experts)) *
              160,
      "routing " + std::to_string(tokens) + " tokens", "replay fewer tokens");
  RouterConfig router_config;
  router_config.norm_topk_prob = args.norm_topk;
  router_config.scoring = parse_scoring(args.scoring);
  router_config.groups = args.groups;
  router_config.topk_groups = args.topk_groups == 0 ? args.groups : args.topk_groups;
  router_config.group_score = parse_group_score(args.group_score);
  router_config.routed_scaling_factor = args.routed_scaling_factor;
  router_config.softmax_after_topk = args.softmax_after_topk;
  validate(router_config, static_cast<int>(experts), args.top_k);
  const std::vector<float> bias =
      args.bias_tensor.empty() ? std::vector<float>{} : read_bias(file, args.bias_tensor, experts);
  const std::vector<float> logits = file.read_f32(tensor);
  const Placement placement = balanced_placement(static_cast<int>(experts), args.devices);
  const RouterOutput router =
      route(logits.data(), static_cast<int>(tokens), static_cast<int>(experts), args.top_k,
            router_config, bias.empty() ? nullptr : bias.data());
  const PolicyOutcome outcome = apply_policy(router, config, placement);
  const LoadMetrics m = compute_load_metrics(router, outcome, placement);

  nlohmann::json out;
  out["tensor"] = tensor.name;
  out["tokens"] = tokens;
  out["experts"] = experts;
  out["top_k"] = args.top_k;
  out["devices"] = args.devices;
  out["policy"] = policy_label(config);
  if (outcome.capacity.empty()) {
    out["capacity"] = nullptr;
  } else if (config.capacity_scope != CapacityScope::kGlobal) {
    out["capacity"] = outcome.capacity;
  } else {
    out["capacity"] = outcome.capacity.front();
  }
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : outcome.kept)
    pairs.push_back({p.token, p.expert, p.weight});
  out["pairs"] = std::move(pairs);
  out["routed_load"] = m.routed_load;
  out["kept_load"] = m.kept_load;
  out["dropped_load"] = m.dropped_load;
  out["added_load"] = m.added_load;
  out["drop_rate"] = m.drop_rate;
  out["tokens_fully_dropped"] = m.tokens_fully_dropped;
  out["added_pairs"] = m.added_pairs;
  out["gate_mass_kept"] = m.gate_mass_kept;
  out["imbalance_routed"] = m.imbalance_routed;
  out["imbalance_kept"] = m.imbalance_kept;
  out["balancedness_routed"] = m.balancedness_routed;
  out["balancedness_kept"] = m.balancedness_kept;
  out["routed_device_load"] = m.routed_device_load;
  out["kept_device_load"] = m.kept_device_load;
  std::cout << json_text(out) << "\n";
}

}  // namespace

void add_route_command(CLI::App& app) {
  auto args = std::make_shared<RouteArgs>();
  auto* cmd = app.add_subcommand("route", "Replay one tensor of router logits through one policy");
  cmd->add_option("--logits", args->logits, "safetensors file with router logits [T, E]")
      ->required();
  cmd->add_option("--tensor", args->tensor, "tensor name (default: the file's only 2-D tensor)");
  cmd->add_option("--top-k", args->top_k, "experts per token")->required();
  cmd->add_option("--policy", args->policy, "none|drop|expanded|reroute")->required();
  cmd->add_option("--gamma", args->gamma, "capacity factor (> 0)")->capture_default_str();
  cmd->add_option("--priority", args->priority, "drop priority: score|position|random")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the random priority")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--devices", args->devices, "expert-parallel devices D")->capture_default_str();
  cmd->add_option("--m", args->m, "expanded: local experts added per token")->capture_default_str();
  cmd->add_option("--reroute-scope", args->reroute_scope, "reroute: any|local")
      ->capture_default_str();
  cmd->add_option("--capacity-scope", args->capacity_scope, "global|source|device")
      ->capture_default_str();
  cmd->add_flag("--norm-topk", args->norm_topk, "divide top-k weights by their sum");
  cmd->add_option("--scoring", args->scoring, "router scores: softmax|sigmoid")
      ->capture_default_str();
  cmd->add_option("--n-group", args->groups, "expert groups (DeepSeek's n_group)")
      ->capture_default_str();
  cmd->add_option("--topk-group", args->topk_groups,
                  "groups that stay eligible per token (default: all)");
  cmd->add_option("--group-score", args->group_score, "a group's score: max|top2_sum")
      ->capture_default_str();
  cmd->add_option("--routed-scaling-factor", args->routed_scaling_factor,
                  "multiplies every router weight")
      ->capture_default_str();
  cmd->add_flag("--softmax-after-topk", args->softmax_after_topk,
                "weights are the softmax of the selected logits (gpt-oss)");
  cmd->add_option("--bias-tensor", args->bias_tensor,
                  "the file's 1-D tensor of per-expert selection bias (e_score_correction_bias)");
  cmd->add_flag("--renormalize", args->renormalize,
                "kept weights of a token sum to 1 (to the routed scaling factor)");
  cmd->add_option("--format", args->format, "output format (json)")
      ->check(CLI::IsMember({"json"}))
      ->capture_default_str();
  cmd->callback([args] { run_route(*args); });
}

}  // namespace moescope::cli
