#include "app/cli/spec_commands.h"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/hf_config.h"
#include "core/model/json_file.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope::cli {

namespace {

struct SpecArgs {
  std::string preset;
  std::string from_hf;
  int scale = 1;
  std::string out;
};

}  // namespace

void add_spec_commands(CLI::App& app) {
  app.add_subcommand("presets", "List the model presets and their shapes")->callback([] {
    std::printf("%-18s %6s %6s %6s %4s %5s %-16s %s\n", "preset", "layers", "H", "F", "E", "top-k",
                "shared", "router");
    for (const auto& name : preset_names()) {
      const ModelSpec s = preset(name);
      const std::string shared = s.shared_experts == 0
                                     ? "none"
                                     : std::to_string(s.shared_experts) + " x " +
                                           std::to_string(s.shared_ffn) +
                                           (s.shared_gate_sigmoid ? " (gated)" : "");
      const std::string experts = s.mlp.plain() ? "" : "; experts " + describe(s.mlp);
      std::printf("%-18s %6d %6d %6d %4d %5d %-16s %s%s\n", name.c_str(), s.layers, s.hidden,
                  s.expert_ffn, s.experts, s.top_k, shared.c_str(), describe(s.router).c_str(),
                  experts.c_str());
    }
  });

  auto args = std::make_shared<SpecArgs>();
  auto* spec = app.add_subcommand(
      "spec", "Print the model spec of a preset or of a Hugging Face config.json as JSON");
  auto* preset_option = spec->add_option("--preset", args->preset, "preset name (see `presets`)");
  auto* hf_option = spec->add_option("--from-hf", args->from_hf,
                                     "a Hugging Face config.json or a model folder holding one");
  preset_option->excludes(hf_option);
  hf_option->excludes(preset_option);
  spec->add_option("--scale", args->scale, "divide H and F by this")->capture_default_str();
  spec->add_option("--out", args->out, "write to this file instead of stdout");
  spec->callback([args] {
    if (args->preset.empty() && args->from_hf.empty()) {
      throw Error("spec needs --preset NAME or --from-hf CONFIG");
    }
    const ModelSpec base =
        args->from_hf.empty() ? preset(args->preset) : load_hf_config(args->from_hf);
    const ModelSpec s = scaled(base, args->scale);
    if (args->out.empty()) {
      std::cout << json_text(spec_to_json(s), 2) << "\n";
    } else {
      save_spec_file(s, args->out);
    }
  });
}

}  // namespace moescope::cli
