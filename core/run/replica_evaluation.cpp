#include "core/run/replica_evaluation.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/base/error.h"
#include "core/moe/load_metrics.h"
#include "core/moe/placement.h"

namespace moescope {

ExpertLoadTable load_table_from_rows(const std::vector<ExpertLoadRow>& rows, bool routed) {
  if (rows.empty()) throw Error("the run has no expert loads (it stored no layer)");
  std::map<int, std::map<int, std::map<int, std::int64_t>>> by_step;  // step, layer, expert
  int experts = 0;
  for (const auto& r : rows) {
    by_step[r.step][r.layer][r.expert] = routed ? r.routed : r.kept;
    experts = std::max(experts, r.expert + 1);
  }
  ExpertLoadTable table;
  table.experts = experts;
  for (const auto& [layer, loads] : by_step.begin()->second)
    table.layers.push_back(layer);
  for (const auto& [step, layers] : by_step) {
    std::vector<std::vector<std::int64_t>> step_load;
    for (int layer : table.layers) {
      const auto found = layers.find(layer);
      if (found == layers.end() || static_cast<int>(found->second.size()) != experts) {
        throw Error("the run's step " + std::to_string(step) + " lacks loads of layer " +
                    std::to_string(layer) + " (an incomplete run?)");
      }
      std::vector<std::int64_t> load;
      for (const auto& [expert, n] : found->second)
        load.push_back(n);
      step_load.push_back(std::move(load));
    }
    if (layers.size() != table.layers.size()) {
      throw Error("the run's step " + std::to_string(step) + " has other layers than step " +
                  std::to_string(by_step.begin()->first));
    }
    table.load.push_back(std::move(step_load));
  }
  return table;
}

namespace {

std::int64_t count_at(const nlohmann::json& v, const std::string& where) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    const auto n = v.get<std::int64_t>();
    if (n >= 0) return n;
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 0 && d <= 9.0e15 && d == std::floor(d)) {
      return static_cast<std::int64_t>(d);
    }
  }
  throw Error(where + " is not a token count (an integer >= 0): " + v.dump());
}

}  // namespace

ExpertLoadTable load_table_from_json(const nlohmann::json& j, const std::string& where) {
  const nlohmann::json* counts = &j;
  std::string at = where;
  if (j.is_object()) {
    if (!j.contains("logical_count")) {
      throw Error(where +
                  ": expected a key 'logical_count' (SGLang's expert load counts) or a "
                  "[layer][expert] array");
    }
    counts = &j.at("logical_count");
    at += ": logical_count";
  }
  const auto is_array_of_arrays = [](const nlohmann::json& v) {
    return v.is_array() && !v.empty() && v.front().is_array();
  };
  if (!is_array_of_arrays(*counts)) {
    throw Error(at + " is not a [layer][expert] array of token counts");
  }
  // A third axis in front (SGLang's recorder keeps one per rank or pass): summed over.
  std::vector<const nlohmann::json*> parts;
  if (is_array_of_arrays(counts->front())) {
    for (const auto& part : *counts)
      parts.push_back(&part);
  } else {
    parts.push_back(counts);
  }
  ExpertLoadTable table;
  std::vector<std::vector<std::int64_t>> sum;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const auto& layers = *parts[p];
    const std::string part_at = parts.size() > 1 ? at + "[" + std::to_string(p) + "]" : at;
    if (!layers.is_array() || (!sum.empty() && layers.size() != sum.size())) {
      throw Error(part_at + " has " + (layers.is_array() ? std::to_string(layers.size()) : "no") +
                  " layers, the first part " + std::to_string(sum.size()));
    }
    if (sum.empty()) sum.resize(layers.size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::string layer_at = part_at + "[" + std::to_string(l) + "]";
      const auto& row = layers[l];
      if (!row.is_array() || row.empty()) throw Error(layer_at + " is not a list of token counts");
      if (table.experts == 0) table.experts = static_cast<int>(row.size());
      if (static_cast<int>(row.size()) != table.experts) {
        throw Error(layer_at + " has " + std::to_string(row.size()) + " experts, " + at +
                    "[0] has " + std::to_string(table.experts));
      }
      sum[l].resize(row.size(), 0);
      for (std::size_t e = 0; e < row.size(); ++e)
        sum[l][e] += count_at(row[e], layer_at + "[" + std::to_string(e) + "]");
    }
  }
  for (std::size_t l = 0; l < sum.size(); ++l)
    table.layers.push_back(static_cast<int>(l));
  table.load.push_back(std::move(sum));
  return table;
}

BalancednessSummary summarize_balancedness(
    const std::vector<std::vector<std::int64_t>>& device_loads) {
  BalancednessSummary s;
  if (device_loads.empty()) return s;
  std::vector<double> per_layer;
  double sum_mean = 0, sum_max = 0;
  for (const auto& load : device_loads) {
    per_layer.push_back(balancedness(load));
    double total = 0, max = 0;
    for (auto n : load) {
      total += static_cast<double>(n);
      max = std::max(max, static_cast<double>(n));
    }
    sum_mean += load.empty() ? 0.0 : total / static_cast<double>(load.size());
    sum_max += max;
  }
  std::sort(per_layer.begin(), per_layer.end());
  const auto rank = [&](double q) {
    const auto n = per_layer.size();
    const auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    return per_layer[std::min(n, std::max<std::size_t>(r, 1)) - 1];
  };
  s.min = per_layer.front();
  s.p50 = rank(0.5);
  s.p90 = rank(0.9);
  double total = 0;
  for (double b : per_layer)
    total += b;
  s.mean = total / static_cast<double>(per_layer.size());
  s.aggregate = sum_max > 0 ? sum_mean / sum_max : 1.0;
  return s;
}

std::vector<BalancednessSummary> balancedness_by_step(const PolicyRun& run) {
  std::map<int, std::vector<std::vector<std::int64_t>>> by_step;
  for (const auto& r : run.records)
    by_step[r.step].push_back(r.load.kept_device_load);
  std::vector<BalancednessSummary> out;
  for (const auto& [step, loads] : by_step)
    out.push_back(summarize_balancedness(loads));
  return out;
}

std::vector<std::int64_t> device_load_with_plan(const std::vector<std::int64_t>& expert_load,
                                                const ReplicaPlan& plan) {
  if (static_cast<int>(expert_load.size()) != plan.experts) {
    throw Error("loads of " + std::to_string(expert_load.size()) + " experts for a plan of " +
                std::to_string(plan.experts));
  }
  std::vector<std::int64_t> slots(static_cast<std::size_t>(plan.slot_count()));
  for (int s = 0; s < plan.slot_count(); ++s) {
    const auto us = static_cast<std::size_t>(s);
    const auto e = static_cast<std::size_t>(plan.slot_expert[us]);
    const std::int64_t count = plan.replica_count[e];
    slots[us] = expert_load[e] / count + (plan.slot_rank[us] < expert_load[e] % count ? 1 : 0);
  }
  return device_load_of_slots(slots, plan);
}

std::vector<std::int64_t> device_load_without_plan(const std::vector<std::int64_t>& expert_load,
                                                   int devices) {
  const Placement placement = balanced_placement(static_cast<int>(expert_load.size()), devices);
  std::vector<std::int64_t> out(static_cast<std::size_t>(devices), 0);
  for (std::size_t e = 0; e < expert_load.size(); ++e)
    out[static_cast<std::size_t>(placement.device(static_cast<int>(e)))] += expert_load[e];
  return out;
}

std::vector<std::vector<std::int64_t>> summed_over_steps(const ExpertLoadTable& table, int steps) {
  std::vector<std::vector<std::int64_t>> out(
      table.layers.size(), std::vector<std::int64_t>(static_cast<std::size_t>(table.experts), 0));
  for (int step = 0; step < steps; ++step) {
    for (std::size_t l = 0; l < out.size(); ++l) {
      for (std::size_t e = 0; e < out[l].size(); ++e)
        out[l][e] += table.load[static_cast<std::size_t>(step)][l][e];
    }
  }
  return out;
}

PlanEvaluation evaluate_replica_plans(const ExpertLoadTable& table, const EplbOptions& options,
                                      int window, const ExpertLoadTable* later) {
  if (later != nullptr && later->experts != table.experts) {
    throw Error("the loads to plan from have " + std::to_string(table.experts) +
                " experts, the run to evaluate on " + std::to_string(later->experts));
  }
  if (later != nullptr && later->layers.size() != table.layers.size()) {
    throw Error("the loads to plan from have " + std::to_string(table.layers.size()) +
                " layers, the run to evaluate on " + std::to_string(later->layers.size()));
  }
  if (window < 0)
    throw Error("the calibration window must be >= 0 steps, got " + std::to_string(window));
  if (window > table.steps()) {
    throw Error("the calibration window of " + std::to_string(window) +
                " steps is longer than the " + std::to_string(table.steps()) + " steps there are");
  }
  if (options.devices > table.experts) {
    throw Error(std::to_string(options.devices) + " devices for " + std::to_string(table.experts) +
                " experts: at most one device per expert");
  }
  validate_eplb_options(table.experts, options);  // before any layer, so named once
  PlanEvaluation out;
  out.window = window == 0 ? table.steps() : window;
  const std::size_t layers = table.layers.size();
  const auto summed = summed_over_steps(table, out.window);
  std::vector<std::vector<std::int64_t>> without, with;
  for (std::size_t l = 0; l < layers; ++l) {
    const std::vector<double> weight(summed[l].begin(), summed[l].end());
    const std::string layer = "layer " + std::to_string(table.layers[l]);
    if (std::all_of(weight.begin(), weight.end(), [](double w) { return w == 0; })) {
      throw Error(layer +
                  " has no tokens in the loads to plan from (a dense layer? rows are MoE "
                  "layers)");
    }
    try {
      out.plans.push_back(plan_replicas(weight, options));
    } catch (const Error& e) {
      throw Error(layer + ": " + e.what());
    }
    without.push_back(device_load_without_plan(summed[l], options.devices));
    with.push_back(device_load_with_plan(summed[l], out.plans.back()));
  }
  out.window_without = summarize_balancedness(without);
  out.window_with = summarize_balancedness(with);
  const ExpertLoadTable& evaluated = later != nullptr ? *later : table;
  for (int step = later != nullptr ? 0 : out.window; step < evaluated.steps(); ++step) {
    without.clear();
    with.clear();
    for (std::size_t l = 0; l < layers; ++l) {
      const auto& load = evaluated.load[static_cast<std::size_t>(step)][l];
      without.push_back(device_load_without_plan(load, options.devices));
      with.push_back(device_load_with_plan(load, out.plans[l]));
    }
    out.later_without.push_back(summarize_balancedness(without));
    out.later_with.push_back(summarize_balancedness(with));
  }
  return out;
}

nlohmann::json sglang_expert_location(const std::vector<ReplicaPlan>& plans) {
  nlohmann::json map = nlohmann::json::array();
  for (const auto& plan : plans)
    map.push_back(plan.slot_expert);
  return {{"physical_to_logical_map", std::move(map)}};
}

}  // namespace moescope
