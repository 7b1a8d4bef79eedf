// The options that `run` and `sweep` share: which model, which routing, how many tokens and
// steps, where experts live, which session receives the runs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/inputs/routing_source.h"
#include "core/moe/policy.h"
#include "core/run/runner.h"

namespace moescope::cli {

struct RunArguments {
  std::string spec_file;
  std::string preset;
  int scale = 1;
  int tokens = 1024;
  int steps = 1;
  std::vector<int> placement;
  std::vector<int> layers;
  std::int64_t seed = 0;
  double skew = 0.6;
  std::string logits;
  std::string backend = "auto";
  std::string session;  // empty: the default session
  // Policy options shared by every policy a command runs.
  std::string priority = "score";
  std::string reroute_scope = "any";
  std::string capacity_scope = "global";
  bool renormalize = false;
};

void add_run_arguments(CLI::App& cmd, RunArguments& args);

// The model spec the arguments name (preset or file, scaled, layer subset applied).
ModelSpec model_spec(const RunArguments& args);
std::unique_ptr<RoutingSource> routing_source(const RunArguments& args, const ModelSpec& spec);
PolicyConfig policy_config(const RunArguments& args, PolicyKind kind, double gamma, int m);
// Options for one run_model call, with no policies yet.
// `devices` empty means min(8, E); an explicit value is checked by the runner.
RunOptions run_options(const RunArguments& args, const ModelSpec& spec, std::optional<int> devices);
std::string session_path(const std::string& session);

}  // namespace moescope::cli
