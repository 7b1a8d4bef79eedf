#include "app/cli/sweep_command.h"

#include <iostream>
#include <memory>

#include "app/cli/experiment_options.h"
#include "app/cli/recorded_output.h"
#include "app/cli/recording.h"
#include "app/cli/session_option.h"
#include "app/cli/terminal.h"
#include "core/base/error.h"

namespace moescope::cli {

namespace {

struct SweepCommand {
  ExperimentOptions common;
  std::vector<std::string> policies;
  std::vector<double> gammas = Experiment{}.policies.gammas;
  std::vector<int> ms = Experiment{}.policies.ms;
  std::vector<int> devices;
  std::string format = "table";
};

Experiment experiment_of(const SweepCommand& args, const CLI::App& cmd) {
  if (!args.common.request_file.empty()) return finish(args.common, cmd);
  Experiment e = finish(args.common, cmd);
  e.policies.kinds.clear();
  for (const auto& name : args.policies)
    e.policies.kinds.push_back(parse_policy(name));
  e.policies.gammas = args.gammas;
  e.policies.ms = args.ms;
  e.devices = args.devices;
  return e;
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepCommand>();
  for (PolicyKind kind : compared_kinds())
    args->policies.push_back(policy_name(kind));
  auto* cmd = app.add_subcommand(
      "sweep", "Run a grid of policies x gamma x m x devices and store every point");
  add_experiment_options(*cmd, args->common);
  cmd->add_option("--policies", args->policies,
                  "policies beside the baseline, e.g. drop,expanded,reroute")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--gamma", args->gammas, "capacity factors, e.g. 0.5,1,1.25,1.5,2")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--m", args->ms, "expanded: values of m, e.g. 0,1,2")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--devices", args->devices, "device counts, e.g. 4,8 (default: min(8, E))")
      ->delimiter(',');
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([args, cmd] {
    const Experiment experiment = experiment_of(*args, *cmd);
    if (print_request_if_asked(args->common, experiment)) return;
    const RecordedExperiment recorded = record_in_session(
        experiment, session_path(args->common.session), "sweep", install_interrupt_handler());
    print_sweep(std::cout, recorded, args->format);
  });
}

}  // namespace moescope::cli
