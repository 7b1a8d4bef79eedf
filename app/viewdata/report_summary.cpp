#include "app/viewdata/report_summary.h"

#include <sstream>
#include <vector>

#include "app/viewdata/metric_text.h"

namespace moescope::viewdata {

namespace {

bool is_policy_run(const RunData& run) {
  return run.run.baseline_run.has_value() && !run.metrics.empty();
}

std::string percent(double fraction) {
  return format_value(fraction * 100) + "%";
}

}  // namespace

std::optional<std::size_t> best_policy_run(const std::vector<RunData>& runs) {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunData& r = runs[i];
    const auto speedup = r.metric("speedup");
    if (!is_policy_run(r) || !speedup || *speedup <= 1.0 || !significant_speedup(r)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const RunData& b = runs[*best];
    const double best_speedup = *b.metric("speedup");
    const double error = r.metric("output_error").value_or(0);
    const double best_error = b.metric("output_error").value_or(0);
    if (*speedup > best_speedup || (*speedup == best_speedup && error < best_error)) best = i;
  }
  return best;
}

std::string summary_paragraph(const std::vector<RunData>& runs) {
  int policy_runs = 0, faster = 0, slower = 0, unchanged = 0;
  for (const RunData& r : runs) {
    if (!is_policy_run(r)) continue;
    ++policy_runs;
    const double speedup = r.metric("speedup").value_or(1.0);
    if (!significant_speedup(r)) {
      ++unchanged;
    } else if (speedup > 1.0) {
      ++faster;
    } else {
      ++slower;
    }
  }
  std::ostringstream out;
  if (policy_runs == 0) {
    out << "These runs hold no completed policy run beside a baseline, so there is no speedup "
           "to report.";
    return out.str();
  }
  if (const auto best = best_policy_run(runs)) {
    const RunData& b = runs[*best];
    const MetricRow* s = b.metric_row("speedup");
    out << "Best: run " << b.display_name() << " is " << format_value(s->mean)
        << "x as fast as its baseline (95% interval " << format_value(*s->low) << " to "
        << format_value(*s->high) << ")";
    // Its cost, as far as the run stored it.
    std::vector<std::string> cost;
    if (const auto e = b.metric("output_error")) {
      cost.push_back("an output error of " + format_value(*e) + " (relative L2)");
    }
    if (const auto l = b.metric("lost_pairs"))
      cost.push_back(percent(*l) + " of the top-k pairs lost");
    if (const auto g = b.metric("gate_mass_kept")) {
      cost.push_back(percent(*g) + " of the gate mass kept");
    }
    for (std::size_t i = 0; i < cost.size(); ++i)
      out << (i == 0 ? ", at " : i + 1 == cost.size() ? " and " : ", ") << cost[i];
    out << ". ";
    // Runs whose speedup lies inside the best one's interval: this data does not tell them
    // apart from it (others may not be told apart either: their own intervals can overlap).
    std::vector<std::string> close;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto v = runs[i].metric("speedup");
      if (i == *best || !is_policy_run(runs[i]) || !v || *v < *s->low || *v > *s->high) continue;
      close.push_back(runs[i].run.policy + " " + format_value(*v) + "x");
    }
    if (!close.empty()) {
      out << "Speedups inside its interval, not shown to differ from it: ";
      for (std::size_t i = 0; i < close.size() && i < 3; ++i)
        out << (i ? ", " : "") << close[i];
      if (close.size() > 3) out << " and " << close.size() - 3 << " more";
      out << ". ";
    }
  } else {
    out << "No policy run is significantly faster than its baseline. ";
  }
  out << "Of the " << policy_runs << " policy run" << (policy_runs == 1 ? "" : "s") << ", "
      << faster << " " << (faster == 1 ? "is" : "are") << " significantly faster, " << unchanged
      << " show" << (unchanged == 1 ? "s" : "") << " no significant change (the speedup's 95% "
      << "interval includes 1x, or the run did its baseline's work)";
  if (slower > 0) out << " and " << slower << " " << (slower == 1 ? "is" : "are") << " slower";
  out << ".";
  return out.str();
}

}  // namespace moescope::viewdata
