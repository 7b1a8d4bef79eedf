// The options `run` and `sweep` share, bound to one Experiment: the model, the routing, steps,
// seed, the policies' shared settings, placement, backend, and the session that receives the
// runs. Their defaults are the Experiment's own (core/run/experiment.h). Each command adds its
// policy and device options and then calls finish().
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "core/run/experiment.h"

namespace moescope::cli {

struct ExperimentOptions {
  Experiment experiment;
  std::string session;
  std::string request_file;    // --request: the whole experiment from a JSON file
  bool print_request = false;  // --print-request: print the experiment and run nothing
  // Names as typed, parsed by finish().
  std::string priority = priority_name(Experiment{}.policies.priority);
  std::string reroute_scope = reroute_scope_name(Experiment{}.policies.reroute_scope);
  std::string capacity_scope = capacity_scope_name(Experiment{}.policies.capacity_scope);
  std::string replica_choice = replica_choice_name(Experiment{}.replication.choice);
  std::string eplb_algorithm = eplb_algorithm_name(Experiment{}.replication.algorithm);
  bool no_spread = false;
  std::int64_t plan_from_run = 0;  // --plan-from RUN: that run's routed loads make the plans
  std::string plan_loads;          // --plan-loads FILE: an engine's load counts do
};

void add_experiment_options(CLI::App& cmd, ExperimentOptions& options);

// After parsing: with --request, the file's experiment (other experiment options are then
// refused, naming them); otherwise the options' experiment with its names parsed. Throws Error.
Experiment finish(const ExperimentOptions& options, const CLI::App& cmd);

// --print-request: the experiment as JSON on stdout. Returns true when it was asked for.
bool print_request_if_asked(const ExperimentOptions& options, const Experiment& experiment);

}  // namespace moescope::cli
