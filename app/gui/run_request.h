// What the run-setup panel asks for, turned into the runner's options. Kept apart from the
// widgets so that tests and the first-start demo build requests without a panel.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/inputs/routing_source.h"
#include "core/moe/policy.h"
#include "core/run/runner.h"

namespace moescope::gui {

struct RunRequest {
  std::string session_path;
  std::string preset = "olmoe-1b-7b";  // used when spec_file is empty
  std::string spec_file;
  int scale = 8;
  int tokens = 512;
  int steps = 2;
  bool replay = false;  // router logits from `logits_file` instead of the synthetic source
  std::string logits_file;
  double skew = 0.6;
  PolicyConfig policy;
  bool compare = false;  // the baseline and drop, expanded and reroute on the same routing
  int devices = 8;
  std::vector<int> placement;  // empty: balanced blocks
  std::string backend = "auto";
  std::uint64_t seed = 0;
};

// Throws Error naming the bad field (an unknown preset, an unreadable spec file, ...).
RunOptions make_run_options(const RunRequest& request);
std::unique_ptr<RoutingSource> make_routing(const RunRequest& request, const ModelSpec& spec);

// The run the app makes on first start so that no view is empty: a small OLMoE comparison.
RunRequest demo_request(const std::string& session_path);

// "0,0,1,1" -> {0,0,1,1}; empty text -> {} (balanced). Throws Error on anything else.
std::vector<int> parse_placement(const std::string& text);

}  // namespace moescope::gui
