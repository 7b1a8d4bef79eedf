#include "app/cli/run_command.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/table_output.h"
#include "app/cli/terminal.h"
#include "core/error.h"
#include "core/run_report.h"
#include "core/runner.h"
#include "core/spec_json.h"

namespace moescope::cli {

namespace {

struct RunArgs {
  std::string spec_file;
  std::string preset;
  int scale = 1;
  int tokens = 1024;
  int steps = 1;
  std::string policy = "drop";
  double gamma = 1.0;
  std::string priority = "score";
  int m = 1;
  std::string reroute_scope = "any";
  std::string capacity_scope = "global";
  bool renormalize = false;
  int devices = 0;
  std::vector<int> placement;
  std::vector<int> layers;
  std::uint64_t seed = 0;
  double skew = 0.6;
  std::string logits;
  std::string backend = "cpu";
  std::string format = "table";
  bool compare = false;
  bool per_layer = false;
};

PolicyConfig policy_from(const RunArgs& args, PolicyKind kind) {
  PolicyConfig c;
  c.kind = kind;
  c.gamma = args.gamma;
  c.priority = parse_priority(args.priority);
  c.seed = args.seed;
  c.m = args.m;
  c.reroute_scope = parse_reroute_scope(args.reroute_scope);
  c.capacity_scope = parse_capacity_scope(args.capacity_scope);
  c.renormalize = args.renormalize;
  validate(c);
  return c;
}

void run(const RunArgs& args, const CancelFlag* cancel) {
  ModelSpec spec = args.spec_file.empty() ? preset(args.preset) : load_spec_file(args.spec_file);
  spec = scaled(spec, args.scale);
  if (!args.layers.empty())
    spec.layer_subset = args.layers;
  validate(spec);

  RunOptions options;
  options.spec = spec;
  options.steps = args.steps;
  options.devices = args.devices > 0 ? args.devices : std::min(8, spec.experts);
  options.placement = args.placement;
  options.backend = args.backend;
  options.seed = args.seed;
  if (args.compare) {
    for (auto kind : {PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute}) {
      options.policies.push_back(policy_from(args, kind));
    }
  } else {
    options.policies.push_back(policy_from(args, parse_policy(args.policy)));
  }

  std::unique_ptr<RoutingSource> source;
  if (args.logits.empty()) {
    SyntheticRoutingConfig synthetic;
    synthetic.tokens = args.tokens;
    synthetic.seed = args.seed;
    synthetic.skew = args.skew;
    source = make_synthetic_routing(spec, synthetic);
  } else {
    source = make_replay_routing(spec, args.logits, args.seed);
  }

  RunResult result;
  {
    ProgressLine progress("running " + spec.name);
    result = run_model(
        options, *source,
        [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel);
  }
  if (args.format == "json") {
    std::cout << run_to_json(result).dump(2) << "\n";
  } else {
    print_run_tables(std::cout, result, args.per_layer);
  }
}

}  // namespace

void add_run_command(CLI::App& app, const CancelFlag* cancel) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run a model's MoE layers through a capacity policy");
  auto* spec = cmd->add_option("--spec", args->spec_file, "model spec JSON (see `spec`)");
  auto* preset = cmd->add_option("--preset", args->preset, "model preset (see `presets`)");
  spec->excludes(preset);
  preset->excludes(spec);
  cmd->add_option("--scale", args->scale, "divide H and F by S (routing is unchanged)")
      ->capture_default_str();
  cmd->add_option("--tokens", args->tokens, "tokens per layer (synthetic routing)")
      ->capture_default_str();
  cmd->add_option("--steps", args->steps, "forward steps")->capture_default_str();
  cmd->add_option("--policy", args->policy, "none|drop|expanded|reroute")->capture_default_str();
  cmd->add_option("--gamma", args->gamma, "capacity factor (> 0)")->capture_default_str();
  cmd->add_option("--priority", args->priority, "drop priority: score|position|random")
      ->capture_default_str();
  cmd->add_option("--m", args->m, "expanded: local experts added per token")->capture_default_str();
  cmd->add_option("--reroute-scope", args->reroute_scope, "reroute: any|local")
      ->capture_default_str();
  cmd->add_option("--capacity-scope", args->capacity_scope, "global|source")->capture_default_str();
  cmd->add_flag("--renormalize", args->renormalize, "kept weights of a token sum to 1");
  cmd->add_option("--devices", args->devices, "expert-parallel devices (default: min(8, E))");
  cmd->add_option("--placement", args->placement, "device of each expert, e.g. 0,0,1,1")
      ->delimiter(',');
  cmd->add_option("--layers", args->layers, "MoE layers to run, e.g. 0,5,11")->delimiter(',');
  cmd->add_option("--seed", args->seed, "seed of the synthetic inputs and weights")
      ->capture_default_str();
  cmd->add_option("--skew", args->skew, "synthetic expert-popularity skew (README table)")
      ->capture_default_str();
  cmd->add_option("--logits", args->logits, "replay router logits from a safetensors file");
  cmd->add_option("--backend", args->backend, "compute backend")->capture_default_str();
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_flag("--compare", args->compare, "run drop, expanded and reroute beside the baseline");
  cmd->add_flag("--per-layer", args->per_layer, "table: add a row per layer");
  cmd->callback([args, cancel] {
    if (args->spec_file.empty() && args->preset.empty()) {
      throw Error("run needs a model: --preset NAME or --spec FILE");
    }
    run(*args, cancel);
  });
}

}  // namespace moescope::cli
