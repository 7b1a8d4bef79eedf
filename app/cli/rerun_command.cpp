#include "app/cli/rerun_command.h"

#include <iostream>
#include <memory>

#include "app/cli/recorded_output.h"
#include "app/cli/recording.h"
#include "app/cli/session_option.h"
#include "app/cli/terminal.h"
#include "core/session/rerun.h"

namespace moescope::cli {

namespace {

struct RerunArgs {
  std::int64_t run = 0;
  std::string session;
  std::string into;
  std::string backend;
  std::string format = "table";
};

}  // namespace

void add_rerun_command(CLI::App& app) {
  auto args = std::make_shared<RerunArgs>();
  auto* cmd = app.add_subcommand(
      "rerun", "Run a stored run again (same model, routing, policy and devices) and store it");
  cmd->add_option("run", args->run, "run id")->required();
  add_session_option(*cmd, args->session);
  cmd->add_option("--into", args->into, "store the new runs in this session (default: the same)");
  cmd->add_option("--backend", args->backend,
                  "run on this backend instead of the one the run asked for");
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([args] {
    const std::string from = session_path(args->session);
    Experiment experiment;
    {
      SessionStore store(from, SessionStore::Access::kRead);
      experiment = rerun_experiment(store.run(args->run));
    }
    if (!args->backend.empty()) experiment.backend = args->backend;
    const RecordedExperiment recorded =
        record_in_session(experiment, args->into.empty() ? from : args->into, "rerunning",
                          install_interrupt_handler());
    print_recorded(std::cout, recorded, args->format, false);
  });
}

}  // namespace moescope::cli
