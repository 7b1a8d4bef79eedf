#include "app/cli/table_output.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "core/base/memory_check.h"
#include "core/run/metric_table.h"
#include "core/run/replica_evaluation.h"
#include "core/run/summary.h"

namespace moescope::cli {

namespace {

std::string fmt(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

void print_devices(std::ostream& out, const RunResult& result, const PolicyRun& run) {
  out << "\nWhere the expert time went, " << policy_label(run.config) << " ("
      << profiler::timing_name(result.timing)
      << " from per-expert measurements of each layer's median repeat; mean per layer):\n";
  out << pad("device", 8) << pad("busy(us)", 11) << pad("straggler%", 12)
      << "busiest experts (expert: rows, us)\n";
  for (auto d : summarize_devices(run, result.placement)) {
    std::sort(d.experts.begin(), d.experts.end(),
              [](const auto& a, const auto& b) { return a.ns > b.ns; });
    std::string busiest;
    for (std::size_t i = 0; i < std::min<std::size_t>(4, d.experts.size()); ++i) {
      char entry[64];
      std::snprintf(entry, sizeof entry, "e%d: %.0f, %.1f  ", d.experts[i].expert,
                    d.experts[i].rows, d.experts[i].ns / 1e3);
      busiest += entry;
    }
    out << pad(std::to_string(d.device), 8) << pad(fmt("%.1f", d.busy_ns / 1e3), 11)
        << pad(fmt("%.0f", 100 * d.straggler_share), 12) << busiest << "\n";
  }
}

// Both timelines side by side, when the run has a cost model: what the loads predict against
// what this machine measured.
void print_model_gap(std::ostream& out, const RunResult& result) {
  const RunSummary first = summarize(result.runs.front(), result.runs.front());
  if (!first.has("modeled_latency_ns")) return;
  const MetricInfo& composed = metric_info("composed_latency_ns");
  const MetricInfo& modeled = metric_info("modeled_latency_ns");
  out << "\nModeled against composed (mean layer latency; the gap is the model's error):\n";
  out << pad("policy", 26) << pad("composed(us)", 18) << pad("modeled(us)", 13) << "gap\n";
  for (const auto& run : result.runs) {
    const RunSummary s = summarize(run, result.runs.front());
    const Stat& c = s.stat("composed_latency_ns");
    const double m = s.mean("modeled_latency_ns");
    out << pad(s.label, 26) << pad(format_metric(composed, c.mean, c.interval), 18)
        << pad(format_metric(modeled, m), 13)
        << fmt("%+.1f%%", c.mean > 0 ? 100 * (m - c.mean) / c.mean : 0.0) << "\n";
  }
}

// Ranks: the measured layer latency beside the one composed from the same run's durations, as
// a single process would compose them; the gap is what the composed timelines leave out. The
// repeats' spread is the measured latency's (the composed one is kept for the median repeat only).
void print_measured_gap(std::ostream& out, const RunResult& result) {
  if (result.timing != profiler::Timing::kMeasured) return;
  const MetricInfo& measured = metric_info("latency_ns");
  const MetricInfo& composed = metric_info("composed_latency_ns");
  out << "\nMeasured against composed from the same durations (mean layer latency):\n";
  out << pad("policy", 26) << pad("measured(us)", 18) << pad("composed(us)", 18) << "gap\n";
  for (const auto& run : result.runs) {
    const RunSummary s = summarize(run, result.runs.front());
    const Stat& m = s.stat("latency_ns");
    const Stat& c = s.stat("composed_latency_ns");
    out << pad(s.label, 26) << pad(format_metric(measured, m.mean, m.interval), 18)
        << pad(format_metric(composed, c.mean), 18)
        << fmt("%+.1f%%", m.mean > 0 ? 100 * (c.mean - m.mean) / m.mean : 0.0) << "\n";
  }
}

// The replica plans' shape and what copies of the weights would take on real devices.
void print_replication(std::ostream& out, const RunResult& result) {
  if (result.replica_plans.empty()) return;
  const ReplicationOptions& r = result.replication;
  const ReplicaPlan& first = result.replica_plans.front();
  const std::uint64_t bytes = static_cast<std::uint64_t>(r.replicas) * result.replica_plans.size() *
                              3ull * static_cast<std::uint64_t>(result.spec.hidden) *
                              static_cast<std::uint64_t>(result.spec.expert_ffn) * 4ull;
  out << "replicas: " << r.replicas << " redundant slots, " << first.slot_count() << " on "
      << first.devices << " devices (EPLB "
      << eplb_algorithm_name(resolved_algorithm(first.experts, eplb_options(r, first.devices)))
      << (r.spread ? ", spread" : "") << ", " << replica_choice_name(r.choice) << "), plans from ";
  if (r.calibration_loads.empty()) {
    out << "the routed loads of step" << (r.calibration_steps > 1 ? "s 0-" : " ")
        << r.calibration_steps - 1;
  } else {
    out << r.calibration_source;
  }
  out << "; the copies take " << format_bytes(bytes)
      << " of fp32 weights (computed here from the one copy)\n";
}

// With replicas and several steps: how each step's devices were balanced, so that a plan going
// stale shows.
void print_balance_by_step(std::ostream& out, const RunResult& result) {
  if (result.replica_plans.empty() || result.steps < 2) return;
  constexpr int kMaxSteps = 12;
  const int shown = std::min(result.steps, kMaxSteps);
  out << "\nDevice balance by step (mean/max kept pairs per device, mean over layers; 1 is "
         "perfect):\n";
  std::size_t width = 7;
  for (const auto& run : result.runs)
    width = std::max(width, policy_label(run.config).size() + 1);
  out << pad("policy", width);
  for (int s = 0; s < shown; ++s)
    out << pad("step " + std::to_string(s), 8);
  out << (result.steps > shown ? "..." : "") << "\n";
  for (const auto& run : result.runs) {
    out << pad(policy_label(run.config), width);
    const auto steps = balancedness_by_step(run);
    for (int s = 0; s < shown && s < static_cast<int>(steps.size()); ++s)
      out << pad(fmt("%.3f", steps[static_cast<std::size_t>(s)].mean), 8);
    out << "\n";
  }
}

}  // namespace

void print_run_tables(std::ostream& out, const RunResult& result, bool per_layer) {
  const auto& s = result.spec;
  out << "MoEScope run: " << s.name << " (H " << s.hidden << ", F " << s.expert_ffn << ", E "
      << s.experts << ", top-" << s.top_k;
  if (s.shared_experts > 0) out << ", " << s.shared_experts << " shared x " << s.shared_ffn;
  out << "), " << s.run_layers().size() << " layers x " << result.steps << " steps, "
      << result.tokens << " tokens, " << result.placement.devices << " devices\n";
  out << "routing: " << result.routing;
  if (result.router_scores) out << ", router " << describe(s.router);
  if (!s.mlp.plain()) out << ", experts " << describe(s.mlp);
  out << "; weights: " << result.weights << "; backend: " << result.backend_detail
      << "; timeline: " << profiler::timing_name(result.timing) << "\n";
  print_replication(out, result);
  out << "\n";

  // The policy table's columns, headed and scaled as the metric table says.
  const char* const kColumns[] = {
      "latency_ns",        "speedup",        "imbalance_routed", "imbalance_kept",
      "balancedness_kept", "drop_rate",      "lost_pairs",       "tokens_fully_dropped",
      "added_pairs",       "gate_mass_kept", "output_error",     "straggler_margin_ns"};
  std::vector<std::vector<std::string>> cells = {{"policy"}};
  for (const char* key : kColumns)
    cells.front().emplace_back(metric_info(key).column);
  for (const auto& run : result.runs) {
    const bool baseline = &run == &result.runs.front();
    const RunSummary summary = summarize(run, result.runs.front());
    std::vector<std::string>& row = cells.emplace_back(std::vector<std::string>{summary.label});
    for (const char* key : kColumns) {
      const MetricInfo& m = metric_info(key);
      const Stat& stat = summary.stat(key);
      if (m.key != "speedup") {
        row.push_back(format_metric(m, stat.mean, stat.interval));
      } else if (baseline) {
        row.push_back(format_metric(m, stat.mean) + "x");  // the reference itself
      } else {
        row.push_back(format_speedup(stat.mean, stat.interval, same_work_as_baseline(run)));
      }
    }
  }
  std::vector<std::size_t> widths(cells.front().size(), 0);
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size() + 1);
  }
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c)
      out << pad(row[c], widths[c]);
    out << "\n";
  }
  if (result.timing == profiler::Timing::kModeled) {
    out << "latency: modeled from the loads through this machine's cost model, exact (no "
           "spread); same work: the policy kept the baseline's pairs\n";
  } else {
    out << "latency: each layer's median over " << result.repeats
        << " repeats (after a warm-up), mean over layers, ± half its 95% interval; n.s.: no "
           "significant change (the speedup's 95% interval includes 1x); same work: the policy "
           "kept the baseline's pairs\n";
  }
  print_model_gap(out, result);
  print_measured_gap(out, result);

  const PolicyRun& shown = result.runs.back();
  if (per_layer) {
    out << "\nPer layer, " << policy_label(shown.config) << " (mean over steps):\n";
    out << pad("layer", 7) << pad("latency(us)", 12) << pad("imb.routed", 11) << pad("imb.kept", 9)
        << pad("drop%", 7) << pad("out.err", 9) << "straggler(us)\n";
    for (const auto& l : summarize_layers(shown)) {
      out << pad(std::to_string(l.layer), 7) << pad(fmt("%.1f", l.latency_ns / 1e3), 12)
          << pad(fmt("%.2f", l.imbalance_routed), 11) << pad(fmt("%.2f", l.imbalance_kept), 9)
          << pad(fmt("%.1f", 100 * l.drop_rate), 7) << pad(fmt("%.4f", l.output_error), 9)
          << fmt("%.1f", l.straggler_margin_ns / 1e3) << "\n";
    }
  }
  print_balance_by_step(out, result);
  if (result.runs.size() > 1) print_devices(out, result, result.runs.front());
  print_devices(out, result, shown);
}

}  // namespace moescope::cli
