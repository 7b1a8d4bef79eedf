#include "app/cli/run_command.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/run_arguments.h"
#include "app/cli/table_output.h"
#include "app/cli/terminal.h"
#include "core/base/error.h"
#include "core/run/run_report.h"
#include "core/session/run_recorder.h"

namespace moescope::cli {

namespace {

struct RunCommand {
  RunArguments common;
  std::string policy = "drop";
  double gamma = 1.0;
  int m = 1;
  std::optional<int> devices;
  std::string format = "table";
  bool compare = false;
  bool per_layer = false;
};

void run(const RunCommand& args, const CancelFlag* cancel) {
  const ModelSpec spec = model_spec(args.common);
  RunOptions options = run_options(args.common, spec, args.devices);
  if (args.compare) {
    for (auto kind : {PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute}) {
      options.policies.push_back(policy_config(args.common, kind, args.gamma, args.m));
    }
  } else {
    options.policies.push_back(
        policy_config(args.common, parse_policy(args.policy), args.gamma, args.m));
  }
  auto source = routing_source(args.common, spec);
  SessionStore store(session_path(args.common.session), SessionStore::Access::kWrite);
  const auto group = args.compare ? std::optional(store.new_group()) : std::nullopt;

  RecordedRun recorded;
  {
    ProgressLine progress("running " + spec.name);
    recorded = record_run(
        store, options, *source,
        [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel,
        group);
  }
  if (args.format == "json") {
    nlohmann::json j = run_to_json(recorded.result);
    j["session"] = store.path();
    for (std::size_t i = 0; i < recorded.run_ids.size(); ++i) {
      j["policies"][i]["run_id"] = recorded.run_ids[i];
    }
    std::cout << j.dump(2) << "\n";
  } else {
    print_run_tables(std::cout, recorded.result, args.per_layer);
    std::cout << "\nStored in " << store.path() << " as run";
    for (std::size_t i = 0; i < recorded.run_ids.size(); ++i) {
      std::cout << (i == 0 ? " " : ", ") << recorded.run_ids[i] << " ("
                << policy_label(recorded.result.runs[i].config) << ")";
    }
    std::cout << "\n";
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunCommand>();
  auto* cmd = app.add_subcommand("run", "Run a model's MoE layers through a capacity policy");
  add_run_arguments(*cmd, args->common);
  cmd->add_option("--policy", args->policy, "none|drop|expanded|reroute")->capture_default_str();
  cmd->add_option("--gamma", args->gamma, "capacity factor (> 0)")->capture_default_str();
  cmd->add_option("--m", args->m, "expanded: local experts added per token")->capture_default_str();
  cmd->add_option("--devices", args->devices, "expert-parallel devices (default: min(8, E))");
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_flag("--compare", args->compare, "run drop, expanded and reroute beside the baseline");
  cmd->add_flag("--per-layer", args->per_layer, "table: add a row per layer");
  cmd->callback([args] { run(*args, install_interrupt_handler()); });
}

}  // namespace moescope::cli
