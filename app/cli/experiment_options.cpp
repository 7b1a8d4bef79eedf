#include "app/cli/experiment_options.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/session_option.h"
#include "core/base/error.h"
#include "core/model/json_file.h"
#include "core/run/experiment_json.h"
#include "core/run/replica_evaluation.h"
#include "core/session/session_store.h"

namespace moescope::cli {

namespace {

// The options that describe the experiment: --request replaces all of them.
const char* const kExperimentOptions[] = {
    "--spec",           "--model",          "--weights",
    "--preset",         "--scale",          "--tokens",
    "--steps",          "--priority",       "--reroute-scope",
    "--capacity-scope", "--renormalize",    "--placement",
    "--layers",         "--seed",           "--skew",
    "--drift",          "--logits",         "--backend",
    "--policy",         "--gamma",          "--m",
    "--devices",        "--compare",        "--policies",
    "--repeats",        "--timing",         "--replicas",
    "--replica-choice", "--eplb-algorithm", "--nodes",
    "--expert-groups",  "--no-spread",      "--calibration-steps",
    "--plan-from",      "--plan-loads"};

}  // namespace

void add_experiment_options(CLI::App& cmd, ExperimentOptions& o) {
  Experiment& e = o.experiment;
  auto* spec = cmd.add_option("--spec", e.model.spec_file,
                              "model spec JSON (see `spec`) or a Hugging Face config.json");
  auto* model = cmd.add_option("--model", e.model.spec_file,
                               "a local Hugging Face model folder (its config.json)");
  auto* preset = cmd.add_option("--preset", e.model.preset, "model preset (see `presets`)")
                     ->capture_default_str();
  spec->excludes(preset)->excludes(model);
  model->excludes(preset)->excludes(spec);
  preset->excludes(spec)->excludes(model);
  cmd.add_option("--weights", e.model.weights_dir,
                 "a Hugging Face model folder whose checkpoint gives the expert weights "
                 "(default: synthetic)");
  cmd.add_option("--scale", e.model.scale, "divide H and F by S (routing is unchanged)")
      ->capture_default_str();
  cmd.add_option("--tokens", e.routing.tokens, "tokens per step (synthetic routing)")
      ->capture_default_str();
  cmd.add_option("--steps", e.steps, "forward steps")->capture_default_str();
  cmd.add_option("--repeats", e.repeats,
                 "times every layer is timed (median and 95% interval over them)")
      ->capture_default_str();
  cmd.add_option("--priority", o.priority, "drop priority: score|position|random")
      ->capture_default_str();
  cmd.add_option("--reroute-scope", o.reroute_scope, "reroute: any|local")->capture_default_str();
  cmd.add_option("--capacity-scope", o.capacity_scope, "global|source|device")
      ->capture_default_str();
  cmd.add_flag("--renormalize", e.policies.renormalize,
               "kept weights of a token sum to 1 (to the routed scaling factor)");
  cmd.add_option("--placement", e.placement, "device of each expert, e.g. 0,0,1,1")->delimiter(',');
  cmd.add_option("--layers", e.model.layers, "MoE layers to run, e.g. 0,5,11")->delimiter(',');
  cmd.add_option("--seed", e.seed, "seed of the synthetic inputs and weights")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--skew", e.routing.skew, "synthetic expert-popularity skew (README table)")
      ->capture_default_str();
  cmd.add_option("--drift", e.routing.drift,
                 "synthetic routing: the hot experts move this many experts per step")
      ->capture_default_str();
  cmd.add_option("--replicas", e.replication.replicas,
                 "redundant expert slots R (DeepSeek's EPLB): also run `replicate` and drop on "
                 "replicas; (E + R) % devices == 0")
      ->capture_default_str();
  cmd.add_option("--replica-choice", o.replica_choice,
                 "which replica a pair goes to: round_robin|local_first")
      ->capture_default_str();
  cmd.add_option("--eplb-algorithm", o.eplb_algorithm, "auto|hierarchical|global")
      ->capture_default_str();
  cmd.add_option("--nodes", e.replication.nodes, "nodes the devices are split over (EPLB)")
      ->capture_default_str();
  cmd.add_option("--expert-groups", e.replication.groups, "the model's expert groups (EPLB)")
      ->capture_default_str();
  cmd.add_flag("--no-spread", o.no_spread,
               "allow two replicas of one expert on one device (as the original EPLB does)");
  cmd.add_option("--calibration-steps", e.replication.calibration_steps,
                 "the first steps whose routed loads make the replica plans")
      ->capture_default_str();
  cmd.add_option("--plan-from", o.plan_from_run,
                 "make the replica plans from a stored run's routed loads (same session)");
  cmd.add_option("--plan-loads", o.plan_loads,
                 "make the replica plans from load counts: SGLang's {\"logical_count\": "
                 "[[...]]} or a [layer][expert] array");
  cmd.add_option("--logits", e.routing.logits_file, "replay router logits from a safetensors file");
  cmd.add_option("--backend", e.backend,
                 "auto (the GPU when one can be used, else the CPU), cpu, cuda, cuda-grouped; "
                 "CUDA options after a colon: cuda:fp32,gpu=1,events")
      ->capture_default_str();
  cmd.add_option("--timing", e.timing,
                 "composed (from the durations measured), modeled (from the loads through this "
                 "machine's cost model; calibrated first when needed)")
      ->capture_default_str();
  cmd.add_option("--request", o.request_file,
                 "run the experiment a JSON file describes (see --print-request)");
  cmd.add_flag("--print-request", o.print_request,
               "print the experiment as JSON (for --request) and run nothing");
  add_session_option(cmd, o.session);
}

Experiment finish(const ExperimentOptions& o, const CLI::App& cmd) {
  if (!o.request_file.empty()) {
    for (const char* name : kExperimentOptions) {
      const CLI::Option* option = cmd.get_option_no_throw(name);
      if (option != nullptr && option->count() > 0) {
        throw Error(std::string(name) +
                    " cannot be combined with --request: the request holds "
                    "the whole experiment (edit the file instead)");
      }
    }
    return load_experiment_file(o.request_file);
  }
  const auto given = [&](const char* name) {
    const CLI::Option* option = cmd.get_option_no_throw(name);
    return option != nullptr && option->count() > 0;
  };
  // The CLI asks for the model rather than running a default one by surprise.
  if (!given("--preset") && !given("--spec") && !given("--model")) {
    throw Error("a model is needed: --preset NAME, --spec FILE or --model DIR (or --request FILE)");
  }
  Experiment e = o.experiment;
  // A replay runs the file's tokens, unless --tokens says how many it must hold.
  if (e.routing.replay() && !given("--tokens")) e.routing.tokens = 0;
  e.policies.priority = parse_priority(o.priority);
  e.policies.reroute_scope = parse_reroute_scope(o.reroute_scope);
  e.policies.capacity_scope = parse_capacity_scope(o.capacity_scope);
  e.replication.choice = parse_replica_choice(o.replica_choice);
  e.replication.algorithm = parse_eplb_algorithm(o.eplb_algorithm);
  e.replication.spread = !o.no_spread;
  if (o.plan_from_run != 0 && !o.plan_loads.empty()) {
    throw Error("--plan-from and --plan-loads both make the replica plans: choose one");
  }
  if ((o.plan_from_run != 0 || !o.plan_loads.empty()) && e.replication.replicas == 0) {
    throw Error("--plan-from and --plan-loads make replica plans: give --replicas R too");
  }
  if (o.plan_from_run != 0) {
    const std::string path = session_path(o.session);
    SessionStore store(path, SessionStore::Access::kRead);
    store.run(o.plan_from_run);  // an id that is not there is named
    const ExpertLoadTable table = load_table_from_rows(store.expert_loads(o.plan_from_run), true);
    // Rows by layer number; the layers the run did not visit stay empty.
    const auto summed = summed_over_steps(table, table.steps());
    auto& loads = e.replication.calibration_loads;
    loads.assign(static_cast<std::size_t>(table.layers.back()) + 1, {});
    for (std::size_t l = 0; l < table.layers.size(); ++l)
      loads[static_cast<std::size_t>(table.layers[l])].assign(summed[l].begin(), summed[l].end());
    e.replication.calibration_source = "run " + std::to_string(o.plan_from_run) + " of " + path;
  }
  if (!o.plan_loads.empty()) {
    const ExpertLoadTable table =
        load_table_from_json(read_json_file(o.plan_loads, "load counts"), o.plan_loads);
    for (const auto& row : table.load.front())
      e.replication.calibration_loads.emplace_back(row.begin(), row.end());
    e.replication.calibration_source = o.plan_loads;
  }
  return e;
}

bool print_request_if_asked(const ExperimentOptions& o, const Experiment& experiment) {
  if (!o.print_request) return false;
  std::cout << json_text(experiment_to_json(experiment), 2) << "\n";
  return true;
}

}  // namespace moescope::cli
