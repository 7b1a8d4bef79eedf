#include "app/cli/plan_command.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/session_option.h"
#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/base/memory_check.h"
#include "core/model/json_file.h"
#include "core/run/replica_evaluation.h"
#include "core/session/rerun.h"
#include "core/session/session_store.h"

namespace moescope::cli {

namespace {

struct PlanArgs {
  std::int64_t run = 0;
  std::string session;
  std::string loads;
  int replicas = -1;
  int devices = 0;
  int nodes = 1;
  int groups = 1;
  std::string algorithm = "auto";
  bool no_spread = false;
  int window = 0;
  bool kept = false;
  bool used = false;
  std::string out;
  std::string format = "table";
};

// The model of a stored run as it ran, when its request can be read (for the replicas' memory).
std::optional<ModelSpec> model_of(const StoredRun& run) {
  try {
    const Experiment e = resolve(rerun_experiment(run));
    return e.model.spec;
  } catch (const Error&) {
    return std::nullopt;
  }
}

nlohmann::json summary_json(const BalancednessSummary& s) {
  return {{"min", s.min}, {"p50", s.p50}, {"p90", s.p90}, {"mean", s.mean}, {"vllm", s.aggregate}};
}

std::string summary_row(const std::string& label, const BalancednessSummary& s) {
  char text[160];
  std::snprintf(text, sizeof text, "%-34s %6.3f %6.3f %6.3f %6.3f %6.3f", label.c_str(), s.min,
                s.p50, s.p90, s.mean, s.aggregate);
  return text;
}

std::string summary_header() {
  char text[160];
  std::snprintf(text, sizeof text, "%-34s %6s %6s %6s %6s %6s", "", "min", "p50", "p90", "mean",
                "vLLM");
  return text;
}

// "e5x3 e0x2": the experts with more than one replica, most replicas first.
std::string replicated_experts(const ReplicaPlan& plan) {
  std::vector<int> experts;
  for (int e = 0; e < plan.experts; ++e) {
    if (plan.replica_count[static_cast<std::size_t>(e)] > 1) experts.push_back(e);
  }
  std::stable_sort(experts.begin(), experts.end(), [&](int a, int b) {
    return plan.replica_count[static_cast<std::size_t>(a)] >
           plan.replica_count[static_cast<std::size_t>(b)];
  });
  std::ostringstream out;
  for (int e : experts)
    out << (out.tellp() > 0 ? " " : "") << "e" << e << "x"
        << plan.replica_count[static_cast<std::size_t>(e)];
  return experts.empty() ? "-" : out.str();
}

std::string slots_by_device(const ReplicaPlan& plan) {
  std::ostringstream out;
  for (int d = 0; d < plan.devices; ++d) {
    out << (d > 0 ? " | " : "") << "d" << d << ":";
    for (int s = d * plan.slots_per_device(); s < (d + 1) * plan.slots_per_device(); ++s)
      out << " " << plan.slot_expert[static_cast<std::size_t>(s)];
  }
  return out.str();
}

// The plans a replicated run used, as stored with it (the slots of its first step).
std::vector<ReplicaPlan> stored_plans(SessionStore& store, const StoredRun& run) {
  const auto slots = store.replica_slots(run.id);
  if (slots.empty()) {
    throw Error(
        "run " + std::to_string(run.id) + " (" + run.policy +
        ") stored no replica slots: it did not run on replicated experts (plan from its loads "
        "without --used), or stopped before its first layer");
  }
  std::map<int, ReplicaPlan> by_layer;
  int experts = 0;
  for (const auto& s : slots)
    experts = std::max(experts, s.expert + 1);
  const std::string where = "run " + std::to_string(run.id);
  for (const auto& s : slots) {
    if (s.step != slots.front().step) continue;
    ReplicaPlan& plan = by_layer[s.layer];
    if (s.slot != plan.slot_count() || s.expert < 0) {
      throw Error(where + ": the stored slots of layer " + std::to_string(s.layer) +
                  " are not numbered 0, 1, ... (an edited session?)");
    }
    plan.devices = run.devices;
    plan.experts = experts;
    plan.replica_count.resize(static_cast<std::size_t>(experts), 0);
    plan.slot_expert.push_back(s.expert);
    plan.slot_rank.push_back(plan.replica_count[static_cast<std::size_t>(s.expert)]++);
  }
  std::vector<ReplicaPlan> out;
  const int slot_count = by_layer.begin()->second.slot_count();
  for (auto& [layer, plan] : by_layer) {
    if (run.devices < 1 || plan.slot_count() % run.devices != 0 ||
        plan.slot_count() != slot_count) {
      throw Error(where + ": the stored slots of layer " + std::to_string(layer) +
                  " do not split evenly over its " + std::to_string(run.devices) + " devices");
    }
    out.push_back(std::move(plan));
  }
  return out;
}

void print_used_plans(const PlanArgs& a) {
  SessionStore store(session_path(a.session), SessionStore::Access::kRead);
  const StoredRun run = store.run(a.run);
  const std::vector<ReplicaPlan> plans = stored_plans(store, run);
  const ExpertLoadTable table = load_table_from_rows(store.expert_loads(a.run), !a.kept);
  if (table.layers.size() != plans.size() || table.experts != plans.front().experts) {
    throw Error("run " + std::to_string(a.run) +
                ": its stored slots and loads cover other layers "
                "or experts (an edited session?)");
  }
  if (!a.out.empty()) {
    write_file_atomically(a.out, json_text(sglang_expert_location(plans)) + "\n",
                          "the expert placement");
  }
  std::cout << "The replica plans run " << a.run << " (" << run.policy
            << ") used: " << plans.front().slot_count() << " slots on " << run.devices
            << " devices\n\n";
  std::cout << "layer  replicated experts (expert x copies)    slots by device\n";
  for (std::size_t l = 0; l < plans.size(); ++l) {
    char head[64];
    std::snprintf(head, sizeof head, "%-6d %-39s ", table.layers[l],
                  replicated_experts(plans[l]).c_str());
    std::cout << head << slots_by_device(plans[l]) << "\n";
  }
  std::cout << "\nbalancedness of the " << (a.kept ? "kept" : "routed")
            << " loads, each expert's tokens split evenly over its replicas\n"
            << summary_header() << "\n";
  for (int step = 0; step < table.steps(); ++step) {
    std::vector<std::vector<std::int64_t>> with;
    for (std::size_t l = 0; l < plans.size(); ++l)
      with.push_back(
          device_load_with_plan(table.load[static_cast<std::size_t>(step)][l], plans[l]));
    std::cout << summary_row("step " + std::to_string(step), summarize_balancedness(with)) << "\n";
  }
  if (!a.out.empty()) std::cout << "wrote " << a.out << "\n";
}

void run_plan(const PlanArgs& a) {
  if (a.used) {
    if (a.run == 0) throw Error("--used needs the RUN whose plans to show");
    print_used_plans(a);
    return;
  }
  if (a.run == 0 && a.loads.empty()) {
    throw Error(
        "plan needs a stored RUN to plan from, or --loads FILE (or both: plan from the "
        "file, evaluate on the run)");
  }
  if (a.replicas < 0) throw Error("--replicas R is required (redundant slots, >= 0), or --used");
  std::optional<ExpertLoadTable> from_run;
  std::optional<ModelSpec> spec;
  std::string source;
  int devices = a.devices;
  if (a.run != 0) {
    SessionStore store(session_path(a.session), SessionStore::Access::kRead);
    const StoredRun run = store.run(a.run);
    from_run = load_table_from_rows(store.expert_loads(a.run), !a.kept);
    spec = model_of(run);
    if (devices == 0) devices = run.devices;
    source = "run " + std::to_string(a.run) + " (" + run.model + ", " +
             (a.kept ? "kept" : "routed") + " loads)";
  }
  std::optional<ExpertLoadTable> from_file;
  if (!a.loads.empty()) {
    from_file = load_table_from_json(read_json_file(a.loads, "load counts"), a.loads);
    if (from_run) {
      // Row i of the file is MoE layer i: take the rows of the layers the run visited.
      ExpertLoadTable rows = *from_file;
      rows.layers = from_run->layers;
      rows.load.assign(1, {});
      for (int layer : from_run->layers) {
        if (layer >= static_cast<int>(from_file->load.front().size())) {
          throw Error(a.loads + " has no row for layer " + std::to_string(layer) + " (it has " +
                      std::to_string(from_file->load.front().size()) + "; row i is MoE layer i)");
        }
        rows.load.front().push_back(from_file->load.front()[static_cast<std::size_t>(layer)]);
      }
      from_file = std::move(rows);
    }
    source = a.loads + (from_run ? ", evaluated on " + source : "");
    if (from_run && a.window != 0) {
      throw Error(
          "--window chooses steps of the run to plan from; with --loads the file is the "
          "calibration and every step of the run is evaluated");
    }
  }
  if (devices == 0) throw Error("--devices D is required with --loads alone");
  EplbOptions options;
  options.redundant_slots = a.replicas;
  options.devices = devices;
  options.nodes = a.nodes;
  options.groups = a.groups;
  options.algorithm = parse_eplb_algorithm(a.algorithm);
  options.spread = !a.no_spread;
  const ExpertLoadTable& calibration = from_file ? *from_file : *from_run;
  const PlanEvaluation ev = evaluate_replica_plans(calibration, options, from_file ? 0 : a.window,
                                                   from_file && from_run ? &*from_run : nullptr);
  const int E = calibration.experts;
  const int P = E + a.replicas;
  const std::string algorithm = eplb_algorithm_name(resolved_algorithm(E, options));
  std::optional<std::uint64_t> replica_bytes;
  if (spec && spec->experts == E) {
    replica_bytes = static_cast<std::uint64_t>(a.replicas) * calibration.layers.size() * 3ull *
                    static_cast<std::uint64_t>(spec->hidden) *
                    static_cast<std::uint64_t>(spec->expert_ffn) * sizeof(float);
  }
  if (!a.out.empty()) {
    write_file_atomically(a.out, json_text(sglang_expert_location(ev.plans)) + "\n",
                          "the expert placement");
  }

  const int later_first = from_run && from_file ? 0 : ev.window;
  if (a.format == "json") {
    nlohmann::json j;
    j["source"] = source;
    j["experts"] = E;
    j["replicas"] = a.replicas;
    j["slots"] = P;
    j["devices"] = devices;
    j["algorithm"] = algorithm;
    j["spread"] = options.spread;
    j["window_steps"] = ev.window;
    j["layers"] = nlohmann::json::array();
    for (std::size_t l = 0; l < ev.plans.size(); ++l) {
      j["layers"].push_back({{"layer", calibration.layers[l]},
                             {"slot_expert", ev.plans[l].slot_expert},
                             {"replica_count", ev.plans[l].replica_count}});
    }
    j["balancedness"] = {{"window_without", summary_json(ev.window_without)},
                         {"window_with", summary_json(ev.window_with)}};
    nlohmann::json later = nlohmann::json::array();
    for (std::size_t i = 0; i < ev.later_with.size(); ++i) {
      later.push_back({{"step", later_first + static_cast<int>(i)},
                       {"without", summary_json(ev.later_without[i])},
                       {"with", summary_json(ev.later_with[i])}});
    }
    j["balancedness"]["later_steps"] = std::move(later);
    j["replica_weight_bytes"] = replica_bytes ? nlohmann::json(*replica_bytes) : nlohmann::json();
    if (!a.out.empty()) j["out"] = a.out;
    std::cout << json_text(j, 2) << "\n";
    return;
  }
  std::cout << "EPLB plan (" << algorithm << (options.spread ? ", spread" : "") << "): " << E
            << " experts + " << a.replicas << " replicas = " << P << " slots on " << devices
            << " devices (" << P / devices << " each), from " << source << ", steps 0-"
            << ev.window - 1 << " of " << calibration.steps() << "\n\n";
  std::cout << "layer  replicated experts (expert x copies)    slots by device\n";
  for (std::size_t l = 0; l < ev.plans.size(); ++l) {
    char head[64];
    std::snprintf(head, sizeof head, "%-6d %-39s ", calibration.layers[l],
                  replicated_experts(ev.plans[l]).c_str());
    std::cout << head << slots_by_device(ev.plans[l]) << "\n";
  }
  std::cout << "\nbalancedness: mean/max tokens per device per layer (1 is perfect), over layers\n"
            << summary_header() << "\n"
            << summary_row("window, balanced blocks", ev.window_without) << "\n"
            << summary_row("window, with the plan", ev.window_with) << "\n";
  for (std::size_t i = 0; i < ev.later_with.size(); ++i) {
    const std::string step = "step " + std::to_string(later_first + static_cast<int>(i));
    std::cout << summary_row(step + ", balanced blocks", ev.later_without[i]) << "\n"
              << summary_row(step + ", with the plan", ev.later_with[i]) << "\n";
  }
  std::cout << "(each expert's tokens split evenly over its replicas; vLLM: sum of the layers' "
               "means over the sum of their maxima)\n";
  if (replica_bytes) {
    std::cout << "replicated weights: " << format_bytes(*replica_bytes) << " in fp32 over "
              << calibration.layers.size() << " layers (" << format_bytes(*replica_bytes / 2)
              << " in bf16)\n";
  }
  if (!a.out.empty()) {
    std::cout << "wrote " << a.out << " (SGLang: --init-expert-location " << a.out
              << "; rows are this run's MoE layers)\n";
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto args = std::make_shared<PlanArgs>();
  auto* cmd = app.add_subcommand(
      "plan", "Replicate hot experts (DeepSeek's EPLB) from a run's loads and show the balance");
  cmd->add_option("run", args->run, "stored run whose loads calibrate the plan");
  add_session_option(*cmd, args->session);
  cmd->add_option("--loads", args->loads,
                  "JSON load counts to plan from: {\"logical_count\": [[...]]} (SGLang) or a "
                  "[layer][expert] array");
  cmd->add_option("--replicas", args->replicas, "redundant slots R; (E + R) % devices == 0");
  cmd->add_flag("--used", args->used,
                "show (and --out) the plans a replicated RUN used instead of making new ones");
  cmd->add_option("--devices", args->devices, "devices (default: the run's)");
  cmd->add_option("--nodes", args->nodes, "nodes the devices are split over")
      ->capture_default_str();
  cmd->add_option("--groups", args->groups, "the model's expert groups (n_group)")
      ->capture_default_str();
  cmd->add_option("--algorithm", args->algorithm,
                  "auto|hierarchical|global (auto: hierarchical when groups split over nodes)")
      ->capture_default_str();
  cmd->add_flag("--no-spread", args->no_spread,
                "allow two replicas of one expert on one device (as the original EPLB does)");
  cmd->add_option("--window", args->window,
                  "plan from the run's first W steps and evaluate the rest (default: all)");
  cmd->add_flag("--kept", args->kept, "plan from kept loads (after the run's policy), not routed");
  cmd->add_option("--out", args->out, "write the plan as SGLang's expert placement JSON");
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([args] { run_plan(*args); });
}

}  // namespace moescope::cli
