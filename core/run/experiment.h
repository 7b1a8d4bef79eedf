// An experiment: what a user asks MoEScope to run. One model, one routing input, a baseline and
// the policies compared with it, on one or more device counts, on one backend. `run`,
// `run --compare`, `sweep`, the run-setup panel and `rerun` all describe their work as one; the
// session stores it with every run it made, so a stored run can be run again.
//
// The defaults live here and nowhere else. An experiment is checked once, by validate().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/inputs/routing_source.h"
#include "core/model/model_spec.h"
#include "core/moe/policy_config.h"
#include "core/run/runner.h"

namespace moescope {

struct ModelChoice {
  std::string preset = "olmoe-1b-7b";  // used when spec_file is empty
  std::string spec_file;               // a spec JSON file (see `moescope-cli spec`)
  int scale = 1;                       // H and F divided by it; routing does not change
  std::vector<int> layers;             // MoE layers to run; empty: every layer of the model
  // A Hugging Face model folder whose checkpoint gives every layer's expert weights; empty:
  // seeded synthetic weights, one set shared by all layers.
  std::string weights_dir;
  // The model as it ran (preset or file, scaled, layers applied): resolve() sets it, and a
  // stored experiment carries it, so a rerun needs neither the file nor this build's presets.
  std::optional<ModelSpec> spec;

  bool operator==(const ModelChoice&) const = default;
};

struct RoutingChoice {
  std::string logits_file;  // router logits to replay (safetensors); empty: synthetic routing
  // Tokens per step. A replay has its own: 0 takes them, any other value must equal them.
  int tokens = 1024;
  double skew = 0.6;   // synthetic routing's expert-popularity skew (README table)
  double drift = 0.0;  // experts the synthetic popularity moves per step

  bool replay() const { return !logits_file.empty(); }
  bool operator==(const RoutingChoice&) const = default;
};

// The policies beside the baseline: every kind at every gamma (and, for expanded, every m),
// with the options all of them share.
struct PolicyGrid {
  std::vector<PolicyKind> kinds = {PolicyKind::kDrop};
  std::vector<double> gammas = {1.0};
  std::vector<int> ms = {1};  // expanded only
  DropPriority priority = DropPriority::kScore;
  RerouteScope reroute_scope = RerouteScope::kAny;
  CapacityScope capacity_scope = CapacityScope::kGlobal;
  bool renormalize = false;

  bool operator==(const PolicyGrid&) const = default;
};

struct Experiment {
  ModelChoice model;
  RoutingChoice routing;
  int steps = 1;
  // Every layer is timed this many times (after an untimed warm-up), the policies interleaved;
  // its latency is the median repeat and its spread the interval over repeats.
  int repeats = 5;
  std::uint64_t seed = 0;  // synthetic routing, synthetic weights and the random priority
  PolicyGrid policies;
  std::vector<int> devices;    // expert-parallel device counts; empty: min(8, E)
  std::vector<int> placement;  // the device of each expert; empty: balanced blocks
  std::string backend = "auto";
  // composed: timelines from the durations measured; modeled: from the loads through this
  // machine's cost model (calibrated first when there is none); measured: one process per
  // device (ranks, core/ranks/), on the ranks' one device count.
  std::string timing = "composed";
  // With replicas > 0 the grid also runs `replicate` and every drop point on replicated experts.
  ReplicationOptions replication;

  bool operator==(const Experiment&) const = default;
};

// The policy kinds `--compare` and Compare policies run beside the baseline.
std::vector<PolicyKind> compared_kinds();

// What the app shows and runs on first start: small enough for a CPU in seconds.
Experiment demo_experiment();

// Fills model.spec from the preset or spec file (scaled, layers applied) unless it is there.
// Throws Error naming what is wrong (an unknown preset, an unreadable file, a bad layer).
Experiment resolve(Experiment experiment);

// What --scale rounded, when it does not divide the model's sizes: "scale 3 does not divide
// the model's sizes: hidden 2048 ÷ 3 rounded down to 682, ..."; empty when it divides them,
// at scale 1, for a resolved or checkpoint-sized model, or when the model cannot be read (the
// run says why).
std::string scale_note(const Experiment& experiment);

// Checks everything that can be checked before a run starts, naming the field: steps, tokens,
// skew, scale, gammas, ms, devices, placement, the backend's name; with model.spec set, also
// the device counts and the placement against the model's experts. Throws Error.
void validate(const Experiment& experiment);
// The same without opening the backend: the numbers and names a form can check as it is filled.
void validate_values(const Experiment& experiment);

// The device counts to run (min(8, E) when none is asked for). Needs model.spec.
std::vector<int> device_counts(const Experiment& experiment);

// The policies of the grid in the order they run (kinds, then gammas, then ms), the baseline
// excluded: each with the grid's shared options and the experiment's seed.
std::vector<PolicyConfig> grid_policies(const Experiment& experiment);

// The same experiment narrowed to one run: `policy` (none for a baseline) on `devices`.
Experiment narrowed_to(Experiment experiment, const PolicyConfig& policy, int devices);

// The runner's options for one device count of a resolved experiment.
RunOptions run_options(const Experiment& experiment, int devices);
// The routing source the experiment asks for (synthetic or a replayed file). Needs model.spec.
std::unique_ptr<RoutingSource> make_routing_source(const Experiment& experiment);

}  // namespace moescope
