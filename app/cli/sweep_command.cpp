#include "app/cli/sweep_command.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/run_arguments.h"
#include "app/cli/terminal.h"
#include "core/base/error.h"
#include "core/run/run_report.h"
#include "core/session/run_recorder.h"

namespace moescope::cli {

namespace {

struct SweepCommand {
  RunArguments common;
  std::vector<std::string> policies = {"none", "drop", "expanded", "reroute"};
  std::vector<double> gammas = {1.0};
  std::vector<int> ms = {1};
  std::vector<int> devices;
  std::string format = "table";
};

struct GridPoint {
  int devices;
  PolicyConfig policy;  // kind none: the baseline of these devices
};

std::vector<GridPoint> grid(const SweepCommand& args, const ModelSpec& spec) {
  std::vector<int> devices = args.devices;
  if (devices.empty()) devices.push_back(std::min(8, spec.experts));
  std::vector<GridPoint> points;
  for (int d : devices) {
    points.push_back({d, PolicyConfig{}});
    for (const auto& name : args.policies) {
      const PolicyKind kind = parse_policy(name);
      if (kind == PolicyKind::kNone) continue;
      for (double gamma : args.gammas) {
        if (kind == PolicyKind::kExpanded) {
          for (int m : args.ms)
            points.push_back({d, policy_config(args.common, kind, gamma, m)});
        } else {
          points.push_back({d, policy_config(args.common, kind, gamma, 0)});
        }
      }
    }
  }
  return points;
}

void sweep(const SweepCommand& args, const CancelFlag* cancel) {
  const ModelSpec spec = model_spec(args.common);
  if (args.gammas.empty()) throw Error("--gamma needs at least one value");
  const std::vector<GridPoint> points = grid(args, spec);
  auto source = routing_source(args.common, spec);
  SessionStore store(session_path(args.common.session), SessionStore::Access::kWrite);
  const std::int64_t group = store.new_group();

  nlohmann::json rows = nlohmann::json::array();
  std::int64_t baseline_id = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const GridPoint& point = points[i];
    RunOptions options = run_options(args.common, spec, point.devices);
    const bool baseline = point.policy.kind == PolicyKind::kNone;
    if (!baseline) options.policies.push_back(point.policy);
    RecordedRun recorded;
    {
      ProgressLine progress("sweep point " + std::to_string(i + 1) + "/" +
                            std::to_string(points.size()) + " " + policy_label(point.policy));
      recorded = record_run(
          store, options, *source,
          [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel,
          group, baseline ? std::nullopt : std::optional(baseline_id));
    }
    if (baseline) baseline_id = recorded.run_ids.front();
    const PolicySummary s = summarize(recorded.result.runs.back(), recorded.result.runs.front());
    rows.push_back({{"run_id", recorded.run_ids.back()},
                    {"policy", s.label},
                    {"gamma", baseline ? nlohmann::json() : nlohmann::json(point.policy.gamma)},
                    {"devices", point.devices},
                    {"latency_ns", s.latency_ns.mean},
                    {"speedup", s.speedup},
                    {"drop_rate", s.drop_rate.mean},
                    {"output_error", s.output_error.mean}});
  }
  if (args.format == "json") {
    std::cout
        << nlohmann::json({{"session", store.path()}, {"group", group}, {"points", rows}}).dump(2)
        << "\n";
    return;
  }
  std::printf("%-26s %4s %12s %8s %7s %9s %6s\n", "policy", "dev", "latency(us)", "speedup",
              "drop%", "out.err", "run");
  for (const auto& r : rows) {
    std::printf("%-26s %4d %12.1f %7.2fx %7.1f %9.4f %6lld\n",
                r["policy"].get<std::string>().c_str(), r["devices"].get<int>(),
                r["latency_ns"].get<double>() / 1e3, r["speedup"].get<double>(),
                100 * r["drop_rate"].get<double>(), r["output_error"].get<double>(),
                r["run_id"].get<long long>());
  }
  std::printf("\nStored in %s (group %lld, %zu runs)\n", store.path().c_str(),
              static_cast<long long>(group), rows.size());
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepCommand>();
  auto* cmd = app.add_subcommand(
      "sweep", "Run a grid of policies x gamma x m x devices and store every point");
  add_run_arguments(*cmd, args->common);
  cmd->add_option("--policies", args->policies, "policies, e.g. none,drop,expanded,reroute")
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
  cmd->callback([args] { sweep(*args, install_interrupt_handler()); });
}

}  // namespace moescope::cli
