// Charts that put several runs side by side: the trade-off (speedup against what it costs), one
// chart per headline metric in its own unit, latency per layer, and the paper's sweep figures
// (speedup and drop rate against gamma, a line per policy).
// Each fills a QCustomPlot it is given, so the Compare view, chart export and reports draw the
// same pictures; the data behind them comes from pure functions that tests check directly.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "app/viewdata/metric_text.h"
#include "app/viewdata/run_data.h"
#include "core/run/metric_table.h"

class QCustomPlot;

namespace moescope::charts {

// The actual headline metrics of some runs, in each metric's display unit (stored value times
// MetricInfo::scale): what the table under the metric charts and the reports print.
struct RunsMetricTable {
  std::vector<MetricInfo> metrics;                         // columns: headline_metrics() order
  std::vector<std::string> runs;                           // rows: display names
  std::vector<std::vector<std::optional<double>>> values;  // [run][metric]; empty: not stored
  // [run][metric] as tables write them, with the spread (viewdata::format_stored).
  std::vector<std::vector<std::string>> texts;
};
RunsMetricTable runs_metric_table(const std::vector<viewdata::RunData>& runs);

// A metric's values in a unit its values read well in: latencies in ns, µs, ms or s by their
// size, the others in the metric's display unit. `factor` turns a stored value into it.
struct MetricUnit {
  std::string unit;
  double factor = 1;
};
MetricUnit readable_unit(const MetricInfo& metric, const std::vector<viewdata::RunData>& runs);

// One metric across the runs, in its own unit: a bar per run (x labelled "#id", in the runs'
// colors), its 95% interval where stored, the value axis saying which way is better and
// starting at 0, and for the speedup a dashed line at 1x. The Compare view shows one per
// headline metric; reports draw them in grids.
void plot_metric(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs,
                 const MetricInfo& metric);

// Fits a chart of these functions to `width` pixels: the legend below it in as many columns
// as fit, category labels on two lines or, when even that is too wide, slanted.
// They call it with the plot's width; call it again when the plot is resized, and before
// drawing it at another width (export_chart does). Other plots are left alone.
void fit_chart_to_width(QCustomPlot& plot, int width);

// Mean latency (µs) of each layer over the steps, a line per run.
void plot_layer_latency(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs);

// Runs of one policy configuration at different gammas: one line of a sweep chart.
struct SweepSeries {
  std::string label;                 // "drop", "expanded (m=2)", "drop (position, 4 devices)"
  std::string policy_kind;           // drop, expanded, reroute
  std::vector<std::size_t> members;  // indices into the input, by ascending gamma then id
};

// Groups the runs that have a gamma by policy kind plus every option of the policy label but
// gamma ("drop(gamma=1.5,position)" joins "drop(gamma=2,position)", not "drop(gamma=2)").
// Runs of different models, device counts or run groups (a sweep, a `run --compare`) are
// different lines; the label names the model, device count or group only when the runs differ
// in it. Runs without gamma (baselines) are left out.
std::vector<SweepSeries> group_sweep_runs(const std::vector<StoredRun>& runs);

// True when the runs hold at least one gamma point with a speedup: a sweep chart has data.
bool has_sweep(const std::vector<viewdata::RunData>& runs);

// Lost pairs rather than the drop rate is what tells policies apart: reroute drops as many
// top-k pairs as drop, but gives most of them back.
enum class SweepMetric { kSpeedup, kDropRate, kLostPairs };
// x = gamma, a line per SweepSeries; the speedup chart marks the baseline (1×) as a dashed line.
void plot_sweep(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs, SweepMetric metric);

// The trade-off: what each run's policy buys (speedup) at what cost, one point per run.
enum class TradeoffCost {
  kOutputError,   // relative L2 of the layer output against the baseline's
  kLostPairs,     // % of top-k pairs neither kept nor rerouted
  kGateMassLost,  // % of the router's gate mass not kept (100 - gate mass kept)
};
std::string tradeoff_cost_name(TradeoffCost cost);  // "Output error (rel. L2)"

struct TradeoffPoint {
  std::size_t run = 0;  // index into the runs given
  double cost = 0;      // in the cost's display unit
  double speedup = 0;
  std::optional<double> low, high;  // the speedup's 95% interval, where stored
  // On the Pareto front: no other point costs at most as much and is at least as fast, one of
  // the two strictly. Ties are all on it.
  bool pareto = false;
};

// Every run with a speedup and the cost (baselines are the point at no cost and 1x), with the
// front marked. Runs without the cost's metric are left out.
std::vector<TradeoffPoint> tradeoff_points(const std::vector<viewdata::RunData>& runs,
                                           TradeoffCost cost);
void mark_pareto_front(std::vector<TradeoffPoint>& points);

// x = cost, y = speedup with its interval as error bars; a series per policy configuration
// (group_sweep_runs, its points joined in gamma order), the baselines, and the Pareto front as a
// step line through its points.
void plot_tradeoff(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs,
                   TradeoffCost cost);

}  // namespace moescope::charts
