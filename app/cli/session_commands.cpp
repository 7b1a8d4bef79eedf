#include "app/cli/session_commands.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli/session_option.h"
#include "core/base/error.h"
#include "core/inputs/safetensors.h"
#include "core/model/json_file.h"
#include "core/run/experiment_json.h"
#include "core/session/session_export.h"
#include "core/session/session_store.h"

namespace moescope::cli {

namespace {

struct SessionArgs {
  std::string session;
  std::string positional_session;
  std::int64_t run = 0;
  std::string name;
  std::string format;
  std::string out;
  bool json = false;
  bool kernels = false;
};

std::string optional_number(const std::optional<double>& v, const char* format) {
  if (!v || !std::isfinite(*v)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, *v);
  return text;
}

void list_runs(const SessionArgs& args) {
  const std::string path =
      session_path(args.positional_session.empty() ? args.session : args.positional_session);
  SessionStore store(path, SessionStore::Access::kRead);
  const auto runs = store.runs();
  if (args.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : runs) {
      j.push_back({{"id", r.id},
                   {"name", r.name},
                   {"created_at", r.created_at},
                   {"model", r.model},
                   {"policy", r.policy},
                   {"gamma", r.gamma ? nlohmann::json(*r.gamma) : nlohmann::json()},
                   {"devices", r.devices},
                   {"backend", r.backend},
                   {"status", r.status},
                   {"latency_ns", r.latency_ns ? nlohmann::json(*r.latency_ns) : nlohmann::json()},
                   {"speedup", r.speedup ? nlohmann::json(*r.speedup) : nlohmann::json()},
                   {"group", r.group ? nlohmann::json(*r.group) : nlohmann::json()}});
    }
    std::cout << json_text(j, 2) << "\n";
    return;
  }
  std::printf("%s: %zu runs\n", store.path().c_str(), runs.size());
  std::printf("%5s  %-20s  %-20s  %-24s  %5s  %4s  %-7s  %-10s  %11s  %7s  %5s  %s\n", "id", "date",
              "model", "policy", "gamma", "dev", "backend", "status", "latency(us)", "speedup",
              "group", "name");
  for (const auto& r : runs) {
    std::printf(
        "%5lld  %-20s  %-20s  %-24s  %5s  %4d  %-7s  %-10s  %11s  %7s  %5s  %s\n",
        static_cast<long long>(r.id), r.created_at.c_str(), r.model.c_str(), r.policy.c_str(),
        optional_number(r.gamma, "%.2f").c_str(), r.devices, r.backend.c_str(), r.status.c_str(),
        optional_number(r.latency_ns ? std::optional(*r.latency_ns / 1e3) : std::nullopt, "%.1f")
            .c_str(),
        optional_number(r.speedup, "%.2fx").c_str(),
        optional_number(r.group ? std::optional(static_cast<double>(*r.group)) : std::nullopt,
                        "%.0f")
            .c_str(),
        r.name.c_str());
  }
}

// The GPU kernels of a run, as CUPTI recorded them, one line each.
void print_gpu_kernels(SessionStore& store, const StoredRun& r) {
  const auto kernels = store.gpu_kernels(r.id);
  if (kernels.empty()) {
    std::printf("\n  no GPU kernel records: run %lld was timed by %s\n",
                static_cast<long long>(r.id), r.collector.c_str());
    return;
  }
  std::printf("\n  %zu GPU kernels and copies (CUPTI); start is from the layer's first\n",
              kernels.size());
  std::printf("  %5s %5s %6s %-13s %6s %6s %11s %10s  %s\n", "step", "layer", "expert", "phase",
              "device", "stream", "start(us)", "dur(us)", "name");
  for (const auto& k : kernels) {
    std::printf("  %5d %5d %6s %-13s %6d %6d %11.3f %10.3f  %s\n", k.step, k.layer,
                k.expert < 0 ? "-" : std::to_string(k.expert).c_str(),
                std::string(profiler::phase_name(k.phase)).c_str(), k.device, k.stream,
                static_cast<double>(k.start_ns) * 1e-3,
                static_cast<double>(k.end_ns - k.start_ns) * 1e-3, k.name.c_str());
  }
}

// A replicated run: each layer's plan (its step 0; the plan holds for every step).
void print_replica_plans(SessionStore& store, const StoredRun& run) {
  const auto slots = store.replica_slots(run.id);
  if (slots.empty()) return;
  std::map<int, std::vector<int>> plan;  // layer -> the expert of each slot
  for (const auto& s : slots) {
    if (s.step == slots.front().step) plan[s.layer].push_back(s.expert);
  }
  const std::size_t per_layer = plan.begin()->second.size();
  for (const auto& [layer, experts] : plan) {
    if (run.devices < 1 || experts.size() != per_layer ||
        experts.size() % static_cast<std::size_t>(run.devices) != 0) {
      std::printf(
          "  replicated experts: the stored slots of layer %d do not split over %d "
          "devices (an edited session?)\n",
          layer, run.devices);
      return;
    }
  }
  std::printf(
      "  replicated experts: %zu slots on %d devices per layer (`moescope-cli plan %lld "
      "--used --out FILE` writes them for SGLang)\n",
      per_layer, run.devices, static_cast<long long>(run.id));
  for (const auto& [layer, experts] : plan) {
    std::printf("    layer %d:", layer);
    const std::size_t per_device =
        experts.size() / static_cast<std::size_t>(std::max(1, run.devices));
    for (std::size_t s = 0; s < experts.size(); ++s)
      std::printf("%s%d", s % per_device == 0 ? (s == 0 ? " " : " | ") : " ", experts[s]);
    std::printf("\n");
  }
}

// The model as the run ran it, from its stored request; none for a request this build cannot
// read (the run is still shown).
std::optional<ModelSpec> stored_spec(const StoredRun& run) {
  try {
    return experiment_from_json(parse_json_text(run.request_json, "run request"), "run request")
        .model.spec;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Whether the run replayed a load dump (chosen experts, no router), judged from its file when the
// file is still there: a load dump's runs have no router to name.
bool replayed_a_load_dump(const StoredRun& run) {
  try {
    const Experiment e =
        experiment_from_json(parse_json_text(run.request_json, "run request"), "run request");
    if (!e.routing.replay()) return false;
    const SafetensorsFile file(e.routing.logits_file);
    for (const auto& t : file.tensors()) {
      if (t.name.ends_with(".topk_ids")) return true;
    }
  } catch (const Error&) {
  }
  return false;
}

void show_run(const SessionArgs& args) {
  SessionStore store(session_path(args.session), SessionStore::Access::kRead);
  if (args.json) {
    std::cout << json_text(export_json(store, args.run), 2) << "\n";
    return;
  }
  const StoredRun r = store.run(args.run);
  std::printf("run %lld: %s\n", static_cast<long long>(r.id), r.name.c_str());
  std::printf("  status %s, created %s, finished %s\n", r.status.c_str(), r.created_at.c_str(),
              r.finished_at.empty() ? "-" : r.finished_at.c_str());
  std::printf("  model %s, policy %s, %d devices, %d tokens, %d steps\n", r.model.c_str(),
              r.policy.c_str(), r.devices, r.tokens, r.steps);
  if (const auto spec = stored_spec(r)) {
    if (replayed_a_load_dump(r)) {
      std::printf("  router none: a load dump's chosen experts, pair weights 1/k\n");
    } else {
      std::printf("  router %s\n", describe(spec->router).c_str());
    }
    if (!spec->mlp.plain()) std::printf("  experts %s\n", describe(spec->mlp).c_str());
  }
  std::printf("  backend %s, timeline %s, timed by %s, MoEScope %s\n", r.backend.c_str(),
              r.timing.c_str(), r.collector.c_str(), r.tool_version.c_str());
  // On which machine, with which kernels, the times were taken.
  if (!r.machine.empty()) std::printf("  on %s\n", r.machine.c_str());
  if (r.baseline_run)
    std::printf("  baseline: run %lld\n", static_cast<long long>(*r.baseline_run));
  print_replica_plans(store, r);
  const auto metrics = store.metrics(args.run);
  if (metrics.empty()) {
    std::printf("  no metrics (the run is %s)\n", r.status.c_str());
  } else {
    std::printf("\n  %-22s %14s %14s\n", "metric", "mean", "max");
    for (const auto& m : metrics) {
      std::printf("  %-22s %14.6g %14.6g\n", m.name.c_str(), m.mean, m.max);
    }
  }
  if (args.kernels) print_gpu_kernels(store, r);
}

}  // namespace

void add_session_commands(CLI::App& app) {
  auto args = std::make_shared<SessionArgs>();
  auto session_option = [&](CLI::App* cmd) { add_session_option(*cmd, args->session); };

  auto* list = app.add_subcommand("sessions", "List the runs of a session");
  list->add_option("file", args->positional_session, "session file (default: --session)");
  session_option(list);
  list->add_flag("--json", args->json, "print JSON");
  list->callback([args] { list_runs(*args); });

  auto* show = app.add_subcommand("show", "Print one run's metrics");
  show->add_option("run", args->run, "run id")->required();
  session_option(show);
  show->add_flag("--json", args->json, "print everything as JSON");
  show->add_flag("--kernels", args->kernels,
                 "also list the run's GPU kernels and copies (CUDA runs timed by CUPTI)");
  show->callback([args] { show_run(*args); });

  auto* rm = app.add_subcommand("rm", "Delete a run and its data");
  rm->add_option("run", args->run, "run id")->required();
  session_option(rm);
  rm->callback([args] {
    SessionStore store(session_path(args->session), SessionStore::Access::kWrite);
    store.remove_run(args->run);
  });

  auto* rename = app.add_subcommand("rename", "Rename a run");
  rename->add_option("run", args->run, "run id")->required();
  rename->add_option("name", args->name, "new name")->required();
  session_option(rename);
  rename->callback([args] {
    if (args->name.empty()) throw Error("a run's name must not be empty");
    SessionStore store(session_path(args->session), SessionStore::Access::kWrite);
    store.rename_run(args->run, args->name);
  });

  auto* exp = app.add_subcommand("export", "Export a run as CSV, JSON or a Chrome trace");
  exp->add_option("run", args->run, "run id")->required();
  session_option(exp);
  exp->add_option("--format", args->format, "csv|json|chrome-trace")->required();
  exp->add_option("--out", args->out, "output file")->required();
  exp->callback([args] {
    const ExportFormat format = parse_export_format(args->format);
    SessionStore store(session_path(args->session), SessionStore::Access::kRead);
    export_run(store, args->run, format, args->out);
  });
}

}  // namespace moescope::cli
