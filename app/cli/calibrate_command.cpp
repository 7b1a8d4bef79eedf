#include "app/cli/calibrate_command.h"

#include <cstdio>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "app/cli/terminal.h"
#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "core/model/json_file.h"
#include "core/run/calibration.h"
#include "core/run/cost_model_file.h"
#include "core/run/experiment.h"
#include "core/session/session_store.h"

namespace moescope::cli {

namespace {

struct CalibrateArgs {
  Experiment experiment;  // its model, backend and tokens
  int repeats = CalibrationOptions{}.repeats;
  std::string out;  // default: the user's cost model file
  std::string format = "table";
};

void print_fit(const char* what, const char* per, const LinearFit& fit) {
  std::printf("%-9s %12.1f ns + %10.3f ns per %-6s  fit within %5.1f%% (rms over %zu sizes)\n",
              what, fit.intercept_ns, fit.slope_ns, per, 100 * fit.relative_rms, fit.points.size());
}

void calibrate_command(const CalibrateArgs& args, const CancelFlag* cancel) {
  const Experiment e = resolve(args.experiment);
  const auto backend = make_backend(e.backend);
  const std::string path = args.out.empty() ? default_cost_model_path() : args.out;
  CalibrationOptions options;
  options.tokens = e.routing.tokens;
  options.repeats = args.repeats;
  CostModel model;
  {
    ProgressLine progress("calibrating " + e.model.spec->name);
    model = calibrate(
        *backend, *e.model.spec, options,
        [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel);
  }
  model.fitted_at = utc_now_iso8601();
  CostModels(path).add(model);
  if (args.format == "json") {
    nlohmann::json j = cost_model_to_json(model);
    j["file"] = path;
    std::cout << json_text(j, 2) << "\n";
    return;
  }
  std::printf("Cost model of %s on %s\n", model.backend.c_str(), model.machine.c_str());
  std::printf(
      "shape: H %d, expert F %d%s\n", model.hidden, model.expert_ffn,
      model.shared_ffn > 0 ? (", shared F " + std::to_string(model.shared_ffn)).c_str() : "");
  print_fit("expert", "row", model.expert);
  print_fit("dispatch", "row", model.dispatch);
  print_fit("combine", "pair", model.combine);
  if (model.shared_ffn > 0) print_fit("shared", "token", model.shared);
  std::printf("Kept in %s (runs with --timing modeled use it)\n", path.c_str());
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Fit this machine's cost model for a backend and a model (modeled timelines)");
  Experiment& e = args->experiment;
  auto* spec = cmd->add_option("--spec", e.model.spec_file, "model spec JSON (see `spec`)");
  auto* preset = cmd->add_option("--preset", e.model.preset, "model preset (see `presets`)")
                     ->capture_default_str();
  spec->excludes(preset);
  preset->excludes(spec);
  cmd->add_option("--scale", e.model.scale, "divide H and F by S")->capture_default_str();
  cmd->add_option("--tokens", e.routing.tokens,
                  "the token count the runs will have (sizes the largest measurement)")
      ->capture_default_str();
  cmd->add_option("--backend", e.backend, "auto, cpu, cuda, cuda-grouped[:options]")
      ->capture_default_str();
  cmd->add_option("--repeats", args->repeats, "times every size is timed")->capture_default_str();
  cmd->add_option("--out", args->out, "cost model file (default: your data folder's)");
  cmd->add_option("--format", args->format, "table|json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([args] {
    if (args->repeats < 1) throw Error("--repeats must be at least 1");
    calibrate_command(*args, install_interrupt_handler());
  });
}

}  // namespace moescope::cli
