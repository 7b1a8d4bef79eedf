#include "app/charts/run_data.h"

#include <map>

namespace moescope::charts {

std::optional<double> RunData::metric(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return m.mean;
  }
  return std::nullopt;
}

std::string RunData::display_name() const {
  return run.name + " (#" + std::to_string(run.id) + ")";
}

RunData load_run_data(SessionStore& store, std::int64_t id) {
  RunData data;
  data.session_path = store.path();
  data.run = store.run(id);
  data.metrics = store.metrics(id);
  data.layers = store.layer_stats(id);
  return data;
}

std::vector<LayerLatency> latency_per_layer(const RunData& run) {
  std::map<int, std::pair<double, int>> sums;
  for (const auto& row : run.layers) {
    auto& [sum, count] = sums[row.layer];
    sum += static_cast<double>(row.latency_ns);
    ++count;
  }
  std::vector<LayerLatency> out;
  out.reserve(sums.size());
  for (const auto& [layer, sum_count] : sums) {
    out.push_back({layer, sum_count.first / sum_count.second});
  }
  return out;
}

const std::vector<HeadlineMetric>& headline_metrics() {
  static const std::vector<HeadlineMetric> kMetrics = {
      {"latency_ns", "Layer latency", 1e-3, "µs"},
      {"speedup", "Speedup vs baseline", 1, "×"},
      {"imbalance_routed", "Imbalance (routed)", 1, "max/mean"},
      {"imbalance_kept", "Imbalance (kept)", 1, "max/mean"},
      {"balancedness_kept", "Balancedness (kept)", 1, ""},
      {"drop_rate", "Drop rate", 100, "%"},
      {"tokens_fully_dropped", "Tokens fully dropped", 100, "%"},
      {"gate_mass_kept", "Gate mass kept", 100, "%"},
      {"output_error", "Output error", 1, "rel. L2"},
      {"straggler_margin_ns", "Straggler margin", 1e-3, "µs"},
  };
  return kMetrics;
}

}  // namespace moescope::charts
