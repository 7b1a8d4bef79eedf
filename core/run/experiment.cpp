#include "core/run/experiment.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "core/base/utf8.h"
#include "core/exec/backend_registry.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/hf_config.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope {

namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

template <typename T>
void require_unique(const std::vector<T>& values, const std::string& what,
                    std::string (*name)(const T&)) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (values[i] == values[j]) throw Error(what + ": " + name(values[i]) + " is listed twice");
    }
  }
}

std::string kind_text(const PolicyKind& k) {
  return policy_name(k);
}
std::string double_text(const double& v) {
  return number(v);
}
std::string int_text(const int& v) {
  return std::to_string(v);
}

bool runs_a_policy(const PolicyGrid& grid) {
  return std::any_of(grid.kinds.begin(), grid.kinds.end(),
                     [](PolicyKind k) { return k != PolicyKind::kNone; });
}

}  // namespace

std::vector<PolicyKind> compared_kinds() {
  return {PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute};
}

Experiment demo_experiment() {
  Experiment e;
  e.model.preset = "olmoe-1b-7b";
  e.model.scale = 16;
  e.routing.tokens = 512;
  e.steps = 2;
  e.policies.kinds = compared_kinds();
  return e;
}

Experiment resolve(Experiment experiment) {
  // Replicated experts run on the CPU backend for now: `auto` takes it.
  if (experiment.replication.replicas > 0 && experiment.backend == "auto")
    experiment.backend = "cpu";
  ModelChoice& m = experiment.model;
  // gpt-oss's experts run on the CPU backend for now (the CUDA one refuses them): `auto` takes it.
  const auto cpu_for_experts = [&experiment] {
    if (!experiment.model.spec->mlp.plain() && experiment.backend == "auto")
      experiment.backend = "cpu";
    return experiment;
  };
  if (m.spec) return cpu_for_experts();
  if (m.scale < 1) throw Error("scale must be a positive integer, got " + std::to_string(m.scale));
  if (m.spec_file.empty() && m.preset.empty()) {
    throw Error("a model is needed: a preset or a spec file");
  }
  ModelSpec spec = m.spec_file.empty() ? preset(m.preset) : load_model_file(m.spec_file);
  spec = scaled(spec, m.scale);
  if (!m.layers.empty()) spec.layer_subset = m.layers;
  validate(spec);
  m.spec = spec;
  return cpu_for_experts();
}

std::string scale_note(const Experiment& experiment) {
  const ModelChoice& m = experiment.model;
  if (m.spec || m.scale <= 1 || !m.weights_dir.empty()) return {};
  ModelSpec base;
  try {
    if (m.spec_file.empty() && m.preset.empty()) return {};
    base = m.spec_file.empty() ? preset(m.preset) : load_model_file(m.spec_file);
  } catch (const Error&) {
    return {};
  }
  std::string rounded;
  const auto check = [&](const char* name, int size) {
    if (size % m.scale == 0) return;
    rounded += (rounded.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(size) +
               " ÷ " + std::to_string(m.scale) + " rounded down to " +
               std::to_string(std::max(1, size / m.scale));
  };
  check("hidden", base.hidden);
  check("expert_ffn", base.expert_ffn);
  if (base.shared_experts > 0) check("shared_ffn", base.shared_ffn);
  if (rounded.empty()) return {};
  return "scale " + std::to_string(m.scale) + " does not divide the model's sizes: " + rounded;
}

void validate_values(const Experiment& e) {
  // Requests are stored as JSON text, which must be UTF-8.
  require_utf8(e.model.preset, "the preset's name");
  require_utf8(e.model.spec_file, "the spec file's path");
  require_utf8(e.model.weights_dir, "the weights folder's path");
  require_utf8(e.routing.logits_file, "the logits file's path");
  require_utf8(e.backend, "the backend's name");
  require_utf8(e.timing, "the timing");
  if (e.steps < 1) throw Error("steps must be a positive integer, got " + std::to_string(e.steps));
  if (e.repeats < 1 || e.repeats > 1000) {
    throw Error("repeats must be from 1 to 1000, got " + std::to_string(e.repeats));
  }
  if (e.model.scale < 1) {
    throw Error("scale must be a positive integer, got " + std::to_string(e.model.scale));
  }
  if (e.routing.replay() && e.routing.tokens < 0) {
    throw Error("tokens must be 0 (the logits file's) or the file's token count, got " +
                std::to_string(e.routing.tokens));
  }
  if (!e.routing.replay()) {
    if (e.routing.tokens < 1) {
      throw Error("tokens must be a positive integer, got " + std::to_string(e.routing.tokens));
    }
    if (!std::isfinite(e.routing.skew) || e.routing.skew < 0 || e.routing.skew > 1e6) {
      throw Error("skew must be a number from 0 to 1e6, got " + number(e.routing.skew));
    }
    if (!std::isfinite(e.routing.drift) || e.routing.drift < 0 || e.routing.drift > 1e6) {
      throw Error("drift must be a number from 0 to 1e6 (experts per step), got " +
                  number(e.routing.drift));
    }
  }
  const PolicyGrid& g = e.policies;
  require_unique(g.kinds, "policies", kind_text);
  if (runs_a_policy(g)) {
    if (g.gammas.empty()) throw Error("gamma: at least one value is needed");
    require_unique(g.gammas, "gamma", double_text);
    for (double gamma : g.gammas) {
      if (!(std::isfinite(gamma) && gamma > 0)) {
        throw Error("gamma must be a finite number > 0, got " + number(gamma));
      }
    }
  }
  for (int m : g.ms) {
    if (m < 0) throw Error("m must be >= 0, got " + std::to_string(m));
  }
  if (std::find(g.kinds.begin(), g.kinds.end(), PolicyKind::kExpanded) != g.kinds.end()) {
    if (g.ms.empty()) throw Error("m: at least one value is needed for expanded");
    require_unique(g.ms, "m", int_text);
  }
  require_unique(e.devices, "devices", int_text);
  for (int d : e.devices) {
    if (d < 1) {
      throw Error("devices must be between 1 and the number of experts, got " + std::to_string(d));
    }
  }
  for (std::size_t i = 0; i < e.placement.size(); ++i) {
    if (e.placement[i] < 0) {
      throw Error("placement: expert " + std::to_string(i) + " is on device " +
                  std::to_string(e.placement[i]) + "; devices are numbered from 0");
    }
  }
}

void validate(const Experiment& e) {
  validate_values(e);
  if (!is_backend_name(e.backend)) make_backend(e.backend);  // throws, naming the known ones
  profiler::Timing timing{};
  if (!profiler::parse_timing(e.timing, timing)) {
    throw Error("unknown timing '" + e.timing + "' (expected one of: composed, modeled, measured)");
  }
  if (timing == profiler::Timing::kMeasured && e.replication.replicas > 0) {
    throw Error(
        "ranks (timing 'measured') run every expert on its own device; replicated "
        "experts (--replicas) are not yet supported with --ranks");
  }
  if (timing == profiler::Timing::kMeasured && e.devices.size() != 1) {
    throw Error(
        "timing 'measured' runs one process per device (ranks) on one device count, the ranks' "
        "(mpirun -np N moescope-cli run ... --ranks)");
  }
  const ReplicationOptions& rep = e.replication;
  if (rep.replicas < 0) throw Error("replicas must be >= 0, got " + std::to_string(rep.replicas));
  if (rep.replicas > 0 && e.backend != "auto" && e.backend != "cpu" &&
      e.backend.rfind("cpu:", 0) != 0) {
    throw Error("replicated experts run on the CPU backend for now (--backend cpu), not on " +
                e.backend);
  }
  if (rep.replicas > 0 && e.policies.capacity_scope == CapacityScope::kDevice &&
      runs_a_policy(e.policies)) {
    throw Error(
        "capacity scope 'device' bounds the rows of each device without replicas; on "
        "replicas a device's rows are its slots': use global or source with --replicas "
        "(the comparison then runs drop at device scope beside it)");
  }
  if (rep.replicas > 0 && (rep.calibration_steps < 1 || rep.calibration_steps > e.steps)) {
    throw Error("calibration steps must be 1 to the run's " + std::to_string(e.steps) +
                " steps, got " + std::to_string(rep.calibration_steps));
  }
  if (!e.model.spec) return;

  const ModelSpec& spec = *e.model.spec;
  validate(spec);
  if (!e.placement.empty() && static_cast<int>(e.placement.size()) != spec.experts) {
    throw Error("placement lists " + std::to_string(e.placement.size()) +
                " experts, the model has " + std::to_string(spec.experts));
  }
  for (int d : device_counts(e)) {
    if (d > spec.experts) {
      throw Error("devices must be between 1 and the number of experts (" +
                  std::to_string(spec.experts) + "), got " + std::to_string(d));
    }
    if (rep.replicas > 0) validate_eplb_options(spec.experts, eplb_options(rep, d));
    for (std::size_t i = 0; i < e.placement.size(); ++i) {
      if (e.placement[i] >= d) {
        throw Error("placement: expert " + std::to_string(i) + " is on device " +
                    std::to_string(e.placement[i]) + ", outside 0.." + std::to_string(d - 1));
      }
    }
  }
}

std::vector<int> device_counts(const Experiment& e) {
  if (!e.devices.empty()) return e.devices;
  if (!e.model.spec) throw Error("the model must be resolved before its device count is known");
  return {std::min(8, e.model.spec->experts)};
}

std::vector<PolicyConfig> grid_policies(const Experiment& e) {
  const PolicyGrid& g = e.policies;
  std::vector<PolicyConfig> out;
  if (e.replication.replicas > 0) {
    PolicyConfig replicate;  // every pair kept, on the replicas
    replicate.replicated = true;
    replicate.capacity_scope = g.capacity_scope;
    if (!g.gammas.empty()) replicate.gamma = g.gammas.front();
    out.push_back(replicate);
  }
  for (PolicyKind kind : g.kinds) {
    if (kind == PolicyKind::kNone) continue;
    for (double gamma : g.gammas) {
      PolicyConfig c;
      c.kind = kind;
      c.gamma = gamma;
      c.priority = g.priority;
      c.seed = e.seed;
      c.reroute_scope = g.reroute_scope;
      c.capacity_scope = g.capacity_scope;
      c.renormalize = g.renormalize;
      if (kind != PolicyKind::kExpanded) {
        out.push_back(c);
        if (kind == PolicyKind::kDrop && e.replication.replicas > 0) {
          // Drop against replicate: drop bounding each device's rows, then drop on replicas
          // (capacity on logical experts, then replicas).
          if (c.capacity_scope != CapacityScope::kDevice) {
            PolicyConfig device_drop = c;
            device_drop.capacity_scope = CapacityScope::kDevice;
            out.push_back(device_drop);
          }
          c.replicated = true;
          out.push_back(c);
        }
        continue;
      }
      for (int m : g.ms) {
        c.m = m;
        out.push_back(c);
      }
    }
  }
  return out;
}

Experiment narrowed_to(Experiment e, const PolicyConfig& policy, int devices) {
  e.devices = {devices};
  if (!policy.replicated) e.replication = {};
  if (policy.kind == PolicyKind::kNone) {
    // The baseline alone; the grid's first gamma still names the capacity it reports.
    e.policies.kinds.clear();
    return e;
  }
  e.policies.kinds = {policy.kind};
  e.policies.gammas = {policy.gamma};
  if (policy.kind == PolicyKind::kExpanded) e.policies.ms = {policy.m};
  e.policies.priority = policy.priority;
  e.policies.reroute_scope = policy.reroute_scope;
  e.policies.capacity_scope = policy.capacity_scope;
  e.policies.renormalize = policy.renormalize;
  return e;
}

RunOptions run_options(const Experiment& e, int devices) {
  if (!e.model.spec) throw Error("the model must be resolved before it runs");
  RunOptions o;
  o.spec = *e.model.spec;
  o.steps = e.steps;
  o.policies = grid_policies(e);
  if (!e.policies.gammas.empty()) o.baseline.gamma = e.policies.gammas.front();
  o.baseline.capacity_scope = e.policies.capacity_scope;
  o.devices = devices;
  o.placement = e.placement;
  o.seed = e.seed;
  o.repeats = e.repeats;
  o.replication = e.replication;
  o.weights_dir = e.model.weights_dir;
  profiler::parse_timing(e.timing, o.timing);
  return o;
}

std::unique_ptr<RoutingSource> make_routing_source(const Experiment& e) {
  if (!e.model.spec) throw Error("the model must be resolved before its routing");
  if (e.routing.replay()) {
    auto source = make_replay_routing(*e.model.spec, e.routing.logits_file, e.seed);
    // A token count that is not the file's would be silently ignored: refuse it instead.
    if (e.routing.tokens != 0 && e.routing.tokens != source->tokens()) {
      throw Error("tokens: " + std::to_string(e.routing.tokens) + " asked for, but " +
                  e.routing.logits_file + " holds " + std::to_string(source->tokens()) +
                  " tokens per layer; a replay runs the file's tokens (leave tokens out)");
    }
    return source;
  }
  return make_synthetic_routing(*e.model.spec,
                                {e.routing.tokens, e.seed, e.routing.skew, e.routing.drift});
}

}  // namespace moescope
