#include "core/run/run_report.h"

#include <algorithm>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/model/spec_json.h"

namespace moescope {

namespace {

template <typename Get>
Stat stat_of(const std::vector<LayerRecord>& records, Get get) {
  Stat s;
  if (records.empty()) return s;
  double sum = 0.0;
  s.max = static_cast<double>(get(records.front()));
  for (const auto& r : records) {
    const auto v = static_cast<double>(get(r));
    sum += v;
    s.max = std::max(s.max, v);
  }
  s.mean = sum / static_cast<double>(records.size());
  return s;
}

std::int64_t expert_sum(const LayerRecord& r) {
  return std::accumulate(r.expert_ns.begin(), r.expert_ns.end(), std::int64_t{0});
}

}  // namespace

PolicySummary summarize(const PolicyRun& run, const PolicyRun& baseline) {
  const auto& rs = run.records;
  PolicySummary s;
  s.label = policy_label(run.config);
  s.latency_ns = stat_of(rs, [](const LayerRecord& r) { return r.timeline.latency_ns; });
  const double own = s.latency_ns.mean;
  const double base =
      stat_of(baseline.records, [](const LayerRecord& r) { return r.timeline.latency_ns; }).mean;
  s.speedup = own > 0 ? base / own : 1.0;
  s.imbalance_routed = stat_of(rs, [](const LayerRecord& r) { return r.load.imbalance_routed; });
  s.imbalance_kept = stat_of(rs, [](const LayerRecord& r) { return r.load.imbalance_kept; });
  s.balancedness_routed =
      stat_of(rs, [](const LayerRecord& r) { return r.load.balancedness_routed; });
  s.balancedness_kept = stat_of(rs, [](const LayerRecord& r) { return r.load.balancedness_kept; });
  s.drop_rate = stat_of(rs, [](const LayerRecord& r) { return r.load.drop_rate; });
  s.tokens_fully_dropped =
      stat_of(rs, [](const LayerRecord& r) { return r.load.tokens_fully_dropped; });
  s.added_pairs = stat_of(rs, [](const LayerRecord& r) { return r.load.added_pairs; });
  s.gate_mass_kept = stat_of(rs, [](const LayerRecord& r) { return r.load.gate_mass_kept; });
  s.output_error = stat_of(rs, [](const LayerRecord& r) { return r.output_error; });
  s.straggler_margin_ns =
      stat_of(rs, [](const LayerRecord& r) { return r.timeline.straggler_margin_ns; });
  s.expert_compute_ns = stat_of(rs, expert_sum);
  s.gating_ns = stat_of(rs, [](const LayerRecord& r) { return r.gating_ns; });
  s.policy_ns = stat_of(rs, [](const LayerRecord& r) { return r.policy_ns; });
  return s;
}

std::vector<std::pair<std::string, Stat>> named_stats(const PolicySummary& s) {
  return {{"latency_ns", s.latency_ns},
          {"imbalance_routed", s.imbalance_routed},
          {"imbalance_kept", s.imbalance_kept},
          {"balancedness_routed", s.balancedness_routed},
          {"balancedness_kept", s.balancedness_kept},
          {"drop_rate", s.drop_rate},
          {"tokens_fully_dropped", s.tokens_fully_dropped},
          {"added_pairs", s.added_pairs},
          {"gate_mass_kept", s.gate_mass_kept},
          {"output_error", s.output_error},
          {"straggler_margin_ns", s.straggler_margin_ns},
          {"expert_compute_ns", s.expert_compute_ns},
          {"gating_ns", s.gating_ns},
          {"policy_ns", s.policy_ns}};
}

std::vector<LayerSummary> summarize_layers(const PolicyRun& run) {
  std::map<int, std::vector<const LayerRecord*>> by_layer;
  for (const auto& r : run.records)
    by_layer[r.layer].push_back(&r);
  std::vector<LayerSummary> out;
  for (const auto& [layer, records] : by_layer) {
    LayerSummary s;
    s.layer = layer;
    const double n = static_cast<double>(records.size());
    const std::size_t E = records.front()->load.routed_load.size();
    s.routed_load.assign(E, 0.0);
    s.kept_load.assign(E, 0.0);
    for (const auto* r : records) {
      s.latency_ns += static_cast<double>(r->timeline.latency_ns) / n;
      s.imbalance_routed += r->load.imbalance_routed / n;
      s.imbalance_kept += r->load.imbalance_kept / n;
      s.drop_rate += r->load.drop_rate / n;
      s.output_error += r->output_error / n;
      s.straggler_margin_ns += static_cast<double>(r->timeline.straggler_margin_ns) / n;
      for (std::size_t e = 0; e < E; ++e) {
        s.routed_load[e] += static_cast<double>(r->load.routed_load[e]) / n;
        s.kept_load[e] += static_cast<double>(r->load.kept_load[e]) / n;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<DeviceSummary> summarize_devices(const PolicyRun& run, const Placement& placement) {
  std::vector<DeviceSummary> out(static_cast<std::size_t>(placement.devices));
  const double n = static_cast<double>(std::max<std::size_t>(run.records.size(), 1));
  for (int d = 0; d < placement.devices; ++d) {
    auto& dev = out[static_cast<std::size_t>(d)];
    dev.device = d;
    for (int e : placement.experts_on(d))
      dev.experts.push_back({e, 0.0, 0.0});
  }
  for (const auto& r : run.records) {
    out[static_cast<std::size_t>(r.timeline.straggler_device)].straggler_share += 1.0 / n;
    for (auto& dev : out) {
      dev.busy_ns +=
          static_cast<double>(r.timeline.device_busy_ns[static_cast<std::size_t>(dev.device)]) / n;
      for (auto& share : dev.experts) {
        share.rows +=
            static_cast<double>(r.load.kept_load[static_cast<std::size_t>(share.expert)]) / n;
        share.ns += static_cast<double>(r.expert_ns[static_cast<std::size_t>(share.expert)]) / n;
      }
    }
  }
  return out;
}

namespace {

nlohmann::json stat_json(const Stat& s) {
  return {{"mean", s.mean}, {"max", s.max}};
}

}  // namespace

nlohmann::json policy_config_to_json(const PolicyConfig& c) {
  nlohmann::json j = {{"policy", policy_name(c.kind)}};
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

namespace {

nlohmann::json summary_json(const PolicySummary& s) {
  nlohmann::json j = {{"speedup", s.speedup}};
  for (const auto& [name, stat] : named_stats(s))
    j[name] = stat_json(stat);
  return j;
}

}  // namespace

nlohmann::json run_to_json(const RunResult& result) {
  nlohmann::json j;
  j["model"] = spec_to_json(result.spec);
  j["tokens"] = result.tokens;
  j["steps"] = result.steps;
  j["devices"] = result.placement.devices;
  j["placement"] = result.placement.device_of_expert;
  j["routing"] = result.routing;
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
    p["summary"] = summary_json(summarize(run, result.runs.front()));
    p["capacity"] =
        run.records.empty() ? nlohmann::json() : nlohmann::json(run.records.front().capacity);
    p["layers"] = nlohmann::json::array();
    for (const auto& l : summarize_layers(run)) {
      p["layers"].push_back({{"layer", l.layer},
                             {"latency_ns", l.latency_ns},
                             {"imbalance_routed", l.imbalance_routed},
                             {"imbalance_kept", l.imbalance_kept},
                             {"drop_rate", l.drop_rate},
                             {"output_error", l.output_error},
                             {"straggler_margin_ns", l.straggler_margin_ns},
                             {"routed_load", l.routed_load},
                             {"kept_load", l.kept_load}});
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
