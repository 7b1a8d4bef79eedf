#include "app/cli/spec_commands.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/model/json_file.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope::cli {

namespace {

struct SpecArgs {
  std::string preset;
  int scale = 1;
  std::string out;
};

}  // namespace

void add_spec_commands(CLI::App& app) {
  app.add_subcommand("presets", "List the model presets and their shapes")->callback([] {
    std::printf("%-20s %6s %6s %6s %4s %5s %-14s %s\n", "preset", "layers", "H", "F", "E", "top-k",
                "shared", "norm_topk");
    for (const auto& name : preset_names()) {
      const ModelSpec s = preset(name);
      const std::string shared = s.shared_experts == 0
                                     ? "none"
                                     : std::to_string(s.shared_experts) + " x " +
                                           std::to_string(s.shared_ffn) +
                                           (s.shared_gate_sigmoid ? " (gated)" : "");
      std::printf("%-20s %6d %6d %6d %4d %5d %-14s %s\n", name.c_str(), s.layers, s.hidden,
                  s.expert_ffn, s.experts, s.top_k, shared.c_str(),
                  s.norm_topk_prob ? "true" : "false");
    }
  });

  auto args = std::make_shared<SpecArgs>();
  auto* spec = app.add_subcommand("spec", "Print a preset's model spec as JSON");
  spec->add_option("--preset", args->preset, "preset name (see `presets`)")->required();
  spec->add_option("--scale", args->scale, "divide H and F by this")->capture_default_str();
  spec->add_option("--out", args->out, "write to this file instead of stdout");
  spec->callback([args] {
    const ModelSpec s = scaled(preset(args->preset), args->scale);
    if (args->out.empty()) {
      std::cout << json_text(spec_to_json(s), 2) << "\n";
    } else {
      save_spec_file(s, args->out);
    }
  });
}

}  // namespace moescope::cli
