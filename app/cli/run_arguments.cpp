#include "app/cli/run_arguments.h"

#include "core/base/error.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"
#include "core/session/session_store.h"

namespace moescope::cli {

void add_run_arguments(CLI::App& cmd, RunArguments& args) {
  auto* spec = cmd.add_option("--spec", args.spec_file, "model spec JSON (see `spec`)");
  auto* preset = cmd.add_option("--preset", args.preset, "model preset (see `presets`)");
  spec->excludes(preset);
  preset->excludes(spec);
  cmd.add_option("--scale", args.scale, "divide H and F by S (routing is unchanged)")
      ->capture_default_str();
  cmd.add_option("--tokens", args.tokens, "tokens per layer (synthetic routing)")
      ->capture_default_str();
  cmd.add_option("--steps", args.steps, "forward steps")->capture_default_str();
  cmd.add_option("--priority", args.priority, "drop priority: score|position|random")
      ->capture_default_str();
  cmd.add_option("--reroute-scope", args.reroute_scope, "reroute: any|local")
      ->capture_default_str();
  cmd.add_option("--capacity-scope", args.capacity_scope, "global|source")->capture_default_str();
  cmd.add_flag("--renormalize", args.renormalize, "kept weights of a token sum to 1");
  cmd.add_option("--placement", args.placement, "device of each expert, e.g. 0,0,1,1")
      ->delimiter(',');
  cmd.add_option("--layers", args.layers, "MoE layers to run, e.g. 0,5,11")->delimiter(',');
  cmd.add_option("--seed", args.seed, "seed of the synthetic inputs and weights")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--skew", args.skew, "synthetic expert-popularity skew (README table)")
      ->capture_default_str();
  cmd.add_option("--logits", args.logits, "replay router logits from a safetensors file");
  cmd.add_option("--backend", args.backend,
                 "auto (the GPU when one can be used, else the CPU), cpu, cuda, cuda-grouped; "
                 "CUDA options after a colon: cuda:fp32,gpu=1,events")
      ->capture_default_str();
  cmd.add_option("--session", args.session, "session file (default: the user's default session)");
}

ModelSpec model_spec(const RunArguments& args) {
  if (args.spec_file.empty() && args.preset.empty()) {
    throw Error("a model is needed: --preset NAME or --spec FILE");
  }
  ModelSpec spec = args.spec_file.empty() ? preset(args.preset) : load_spec_file(args.spec_file);
  spec = scaled(spec, args.scale);
  if (!args.layers.empty()) spec.layer_subset = args.layers;
  validate(spec);
  return spec;
}

std::unique_ptr<RoutingSource> routing_source(const RunArguments& args, const ModelSpec& spec) {
  if (!args.logits.empty())
    return make_replay_routing(spec, args.logits, static_cast<std::uint64_t>(args.seed));
  return make_synthetic_routing(spec,
                                {args.tokens, static_cast<std::uint64_t>(args.seed), args.skew});
}

PolicyConfig policy_config(const RunArguments& args, PolicyKind kind, double gamma, int m) {
  PolicyConfig c;
  c.kind = kind;
  c.gamma = gamma;
  c.priority = parse_priority(args.priority);
  c.seed = static_cast<std::uint64_t>(args.seed);
  c.m = m;
  c.reroute_scope = parse_reroute_scope(args.reroute_scope);
  c.capacity_scope = parse_capacity_scope(args.capacity_scope);
  c.renormalize = args.renormalize;
  validate(c);
  return c;
}

RunOptions run_options(const RunArguments& args, const ModelSpec& spec,
                       std::optional<int> devices) {
  RunOptions o;
  o.spec = spec;
  o.steps = args.steps;
  o.devices = devices.value_or(std::min(8, spec.experts));
  o.placement = args.placement;
  o.backend = args.backend;
  o.seed = static_cast<std::uint64_t>(args.seed);
  return o;
}

std::string session_path(const std::string& session) {
  return session.empty() ? default_session_path() : session;
}

}  // namespace moescope::cli
