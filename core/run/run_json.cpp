#include "core/run/run_json.h"

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/spec_json.h"
#include "core/run/metric_table.h"
#include "core/run/replica_evaluation.h"
#include "core/run/summary.h"

namespace moescope {

namespace {

nlohmann::json stat_json(const Stat& s) {
  nlohmann::json j = {{"mean", s.mean}, {"max", s.max}};
  if (s.interval) j["low"] = s.interval->low, j["high"] = s.interval->high;
  return j;
}

}  // namespace

nlohmann::json policy_config_to_json(const PolicyConfig& c) {
  nlohmann::json j = {{"policy", policy_name(c.kind)}};
  if (c.replicated) j["replicated"] = true;
  if (c.kind == PolicyKind::kNone) return j;
  j["gamma"] = c.gamma;
  j["capacity_scope"] = capacity_scope_name(c.capacity_scope);
  j["renormalize"] = c.renormalize;
  if (c.kind == PolicyKind::kDrop) j["priority"] = priority_name(c.priority);
  if (c.kind == PolicyKind::kDrop && c.priority == DropPriority::kRandom) j["seed"] = c.seed;
  if (c.kind == PolicyKind::kExpanded) j["m"] = c.m;
  if (c.kind == PolicyKind::kReroute) j["reroute_scope"] = reroute_scope_name(c.reroute_scope);
  return j;
}

PolicyConfig policy_config_from_json(const nlohmann::json& j, const std::string& where) {
  auto fail = [&](const std::string& what) -> PolicyConfig {
    throw Error(where + ": the policy " + what + " (" + j.dump() + ")");
  };
  if (!j.is_object() || !j.contains("policy") || !j["policy"].is_string()) {
    return fail("has no name");
  }
  PolicyConfig c;
  try {
    c.kind = parse_policy(j["policy"].get<std::string>());
    if (j.contains("gamma")) c.gamma = j.at("gamma").get<double>();
    if (j.contains("capacity_scope"))
      c.capacity_scope = parse_capacity_scope(j.at("capacity_scope").get<std::string>());
    if (j.contains("renormalize")) c.renormalize = j.at("renormalize").get<bool>();
    if (j.contains("replicated")) c.replicated = j.at("replicated").get<bool>();
    if (j.contains("priority")) c.priority = parse_priority(j.at("priority").get<std::string>());
    if (j.contains("seed")) c.seed = j.at("seed").get<std::uint64_t>();
    if (j.contains("m")) c.m = j.at("m").get<int>();
    if (j.contains("reroute_scope"))
      c.reroute_scope = parse_reroute_scope(j.at("reroute_scope").get<std::string>());
  } catch (const nlohmann::json::exception&) {
    return fail("has a field of the wrong type");
  } catch (const Error& e) {
    return fail(std::string("is not valid: ") + e.what());
  }
  validate(c);
  return c;
}

namespace {

// Every metric of the table: a plain number for a ratio (the speedup, with its interval and
// whether it is significant beside it), else {mean, max}, with {low, high} when timed.
nlohmann::json summary_json(const RunSummary& s, bool same_work) {
  nlohmann::json j = nlohmann::json::object();
  for (const MetricInfo& m : metric_table()) {
    if (!s.has(m.key)) continue;
    const Stat& stat = s.stat(m.key);
    if (m.aggregation == Aggregation::kRatioOfMeanLatency) {
      j[std::string(m.key)] = stat.mean;
      j[std::string(m.key) + "_interval"] =
          stat.interval ? nlohmann::json({stat.interval->low, stat.interval->high})
                        : nlohmann::json();
      j["significant"] = significant(stat);
      j["same_work"] = same_work;
    } else {
      j[std::string(m.key)] = stat_json(stat);
    }
  }
  return j;
}

}  // namespace

nlohmann::json run_to_json(const RunResult& result) {
  nlohmann::json j;
  j["model"] = spec_to_json(result.spec);
  j["tokens"] = result.tokens;
  j["steps"] = result.steps;
  j["repeats"] = result.repeats;
  j["devices"] = result.placement.devices;
  j["placement"] = result.placement.device_of_expert;
  j["routing"] = result.routing;
  j["weights"] = result.weights;
  j["backend"] = result.backend;
  j["backend_detail"] = result.backend_detail;
  j["timing"] = std::string(profiler::timing_name(result.timing));
  j["collector"] = result.collector;
  j["weights_shared_across_layers"] = result.weights_shared_across_layers;
  j["policies"] = nlohmann::json::array();
  for (const auto& run : result.runs) {
    nlohmann::json p;
    p["label"] = policy_label(run.config);
    p["config"] = policy_config_to_json(run.config);
    p["summary"] = summary_json(summarize(run, result.runs.front()), same_work_as_baseline(run));
    p["capacity"] =
        run.records.empty() ? nlohmann::json() : nlohmann::json(run.records.front().capacity);
    p["layers"] = nlohmann::json::array();
    for (const auto& l : summarize_layers(run)) {
      p["layers"].push_back(
          {{"layer", l.layer},
           {"latency_ns", l.latency_ns},
           {"composed_latency_ns", l.composed_latency_ns},
           {"modeled_latency_ns",
            l.modeled_latency_ns ? nlohmann::json(*l.modeled_latency_ns) : nlohmann::json()},
           {"lost_pairs", l.lost_pairs},
           {"imbalance_routed", l.imbalance_routed},
           {"imbalance_kept", l.imbalance_kept},
           {"drop_rate", l.drop_rate},
           {"output_error", l.output_error},
           {"straggler_margin_ns", l.straggler_margin_ns},
           {"routed_load", l.routed_load},
           {"kept_load", l.kept_load}});
    }
    p["balancedness_by_step"] = nlohmann::json::array();
    for (const auto& b : balancedness_by_step(run)) {
      p["balancedness_by_step"].push_back({{"min", b.min},
                                           {"p50", b.p50},
                                           {"p90", b.p90},
                                           {"mean", b.mean},
                                           {"vllm", b.aggregate}});
    }
    if (!run.records.empty() && !run.records.front().slot_expert.empty()) {
      p["replica_plans"] = nlohmann::json::array();
      for (std::size_t l = 0; l < result.replica_plans.size(); ++l) {
        p["replica_plans"].push_back({{"layer", result.spec.run_layers()[l]},
                                      {"slot_expert", result.replica_plans[l].slot_expert},
                                      {"replica_count", result.replica_plans[l].replica_count}});
      }
    }
    p["devices"] = nlohmann::json::array();
    for (const auto& d : summarize_devices(run, result.placement)) {
      nlohmann::json experts = nlohmann::json::array();
      for (const auto& e : d.experts) {
        experts.push_back({{"expert", e.expert}, {"rows", e.rows}, {"ns", e.ns}});
      }
      p["devices"].push_back({{"device", d.device},
                              {"busy_ns", d.busy_ns},
                              {"straggler_share", d.straggler_share},
                              {"experts", experts}});
    }
    j["policies"].push_back(std::move(p));
  }
  return j;
}

}  // namespace moescope
