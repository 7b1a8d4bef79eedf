#include "app/cli/run_command.h"

#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli/experiment_options.h"
#include "app/cli/ranks_run.h"
#include "app/cli/recorded_output.h"
#include "app/cli/recording.h"
#include "app/cli/session_option.h"
#include "app/cli/terminal.h"
#include "core/base/error.h"

namespace moescope::cli {

namespace {

struct RunCommand {
  ExperimentOptions common;
  std::string policy = policy_name(Experiment{}.policies.kinds.front());
  double gamma = Experiment{}.policies.gammas.front();
  int m = Experiment{}.policies.ms.front();
  std::optional<int> devices;
  std::string format = "table";
  bool compare = false;
  bool per_layer = false;
  bool ranks = false;
  int threads_per_rank = 1;
  bool dry_run = false;
  std::string hostfile;
};

Experiment experiment_of(const RunCommand& args, const CLI::App& cmd) {
  if (!args.common.request_file.empty()) return finish(args.common, cmd);
  Experiment e = finish(args.common, cmd);
  e.policies.kinds = args.compare ? compared_kinds() : std::vector{parse_policy(args.policy)};
  e.policies.gammas = {args.gamma};
  e.policies.ms = {args.m};
  if (args.devices) e.devices = {*args.devices};
  return e;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunCommand>();
  auto* cmd = app.add_subcommand("run", "Run a model's MoE layers through a capacity policy");
  add_experiment_options(*cmd, args->common);
  cmd->add_option("--policy", args->policy, "none|drop|expanded|reroute")->capture_default_str();
  cmd->add_option("--gamma", args->gamma, "capacity factor (> 0)")->capture_default_str();
  cmd->add_option("--m", args->m, "expanded: local experts added per token")->capture_default_str();
  cmd->add_option("--devices", args->devices, "expert-parallel devices (default: min(8, E))");
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_flag("--compare", args->compare, "run drop, expanded and reroute beside the baseline");
  cmd->add_flag("--per-layer", args->per_layer, "table: add a row per layer");
  cmd->add_flag("--ranks", args->ranks,
                "run as one rank of `mpirun -np N`: one process per device, a measured "
                "timeline; rank 0 writes the session");
  cmd->add_option("--threads-per-rank", args->threads_per_rank,
                  "--ranks: BLAS and oneDNN threads of each rank")
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run,
                "--ranks: check the run and print the mpirun line that runs it (--devices D "
                "ranks), run nothing");
  cmd->add_option("--hostfile", args->hostfile, "--dry-run: the MPI hostfile the line names");
  cmd->callback([args, cmd] {
    const Experiment experiment = experiment_of(*args, *cmd);
    if (print_request_if_asked(args->common, experiment)) return;
    if (args->dry_run || !args->hostfile.empty()) {
      if (!args->dry_run)
        throw Error("--hostfile goes with --dry-run (mpirun reads it, not MoEScope)");
      if (!args->devices) throw Error("--dry-run needs --devices D: the number of ranks");
      std::cout << mpirun_line(experiment, *args->devices, args->hostfile) << "\n";
      return;
    }
    if (args->ranks) {
      run_ranks(experiment, session_path(args->common.session), args->format, args->per_layer,
                args->threads_per_rank);
      return;
    }
    const RecordedExperiment recorded = record_in_session(
        experiment, session_path(args->common.session), "running", install_interrupt_handler());
    print_recorded(std::cout, recorded, args->format, args->per_layer);
  });
}

}  // namespace moescope::cli
