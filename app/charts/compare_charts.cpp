#include "app/charts/compare_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include <qcustomplot.h>

#include "app/charts/chart_style.h"
#include "app/viewdata/metric_glossary.h"

namespace moescope::charts {

namespace {

QString qstr(const std::string& s) {
  return QString::fromStdString(s);
}
QString qstr(std::string_view s) {
  return QString::fromUtf8(s.data(), static_cast<int>(s.size()));
}

// A chart's frame: a title row, the axis rect, and the legend in its own row below, so the
// legend never covers data however the runs' lines fall. Called again on a plot that already
// has this layout (the Compare view redraws in place), it only clears and retitles.
void prepare_plot(QCustomPlot& plot, const QString& title) {
  plot.clearPlottables();
  plot.clearItems();
  for (QCPBarsGroup* group : plot.findChildren<QCPBarsGroup*>())
    delete group;
  apply_chart_style(plot);
  QCPLayoutGrid* layout = plot.plotLayout();
  auto* title_element =
      layout->rowCount() > 0 ? qobject_cast<QCPTextElement*>(layout->element(0, 0)) : nullptr;
  if (title_element == nullptr) {
    layout->insertRow(0);
    title_element = new QCPTextElement(&plot, title, chart_font(11));
    title_element->setTextColor(QColor(0x22, 0x22, 0x22));
    title_element->setMargins(QMargins(8, 6, 8, 0));
    layout->addElement(0, 0, title_element);
  }
  title_element->setText(title);
  if (plot.legend->layout() != layout) {
    if (plot.legend->layout() != nullptr) plot.legend->layout()->take(plot.legend);
    layout->addElement(layout->rowCount(), 0, plot.legend);
    layout->setRowStretchFactor(0, 0.001);
    layout->setRowStretchFactor(layout->rowCount() - 1, 0.001);
    plot.legend->setBorderPen(Qt::NoPen);
    plot.legend->setBrush(Qt::NoBrush);
    plot.legend->setMargins(QMargins(8, 0, 8, 6));
    plot.legend->setColumnSpacing(16);
    plot.legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  }
  plot.xAxis->grid()->setZeroLinePen(plot.xAxis->grid()->pen());
  plot.yAxis->grid()->setZeroLinePen(plot.yAxis->grid()->pen());
  plot.legend->setVisible(true);
  plot.xAxis->setTickLabelRotation(0);
  plot.xAxis->setLabel(QString());
  plot.yAxis->setLabel(QString());
  plot.yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  plot.yAxis->setNumberFormat("gb");
  plot.yAxis->setNumberPrecision(6);
  plot.axisRect()->setupFullAxesBox(false);
  plot.xAxis2->setTicks(false);
  plot.yAxis2->setTicks(false);
}

void finish_legend(QCustomPlot& plot) {
  plot.legend->setVisible(plot.legend->itemCount() > 0);
  fit_chart_to_width(plot, plot.width());
}

// Two lines at most, split near the middle at a space: category labels stay narrow.
QString wrap_label(std::string_view label) {
  const QString text = qstr(label);
  if (text.size() <= 12) return text;
  int best = -1;
  for (int i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' &&
        (best < 0 || std::abs(i - text.size() / 2) < std::abs(best - text.size() / 2)))
      best = i;
  }
  if (best < 0) return text;
  return text.left(best) + "\n" + text.mid(best + 1);
}

std::optional<double> speedup_of(const viewdata::RunData& run) {
  if (auto v = run.metric("speedup")) return v;
  return run.run.speedup;
}

// "drop(gamma=1.5,position)" -> {"position"}: the options that make a policy what it is.
std::vector<std::string> non_gamma_options(const std::string& label) {
  const auto open = label.find('(');
  const auto close = label.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  std::vector<std::string> options;
  const std::string inner = label.substr(open + 1, close - open - 1);
  std::size_t start = 0;
  while (start <= inner.size()) {
    auto end = inner.find(',', start);
    if (end == std::string::npos) end = inner.size();
    std::string item = inner.substr(start, end - start);
    if (!item.empty() && item.rfind("gamma=", 0) != 0) options.push_back(item);
    start = end + 1;
  }
  return options;
}

std::string kind_of(const StoredRun& run) {
  if (!run.policy_kind.empty()) return run.policy_kind;
  return run.policy.substr(0, run.policy.find('('));
}

}  // namespace

namespace {

void fit_legend(QCustomPlot& plot, int width) {
  QCPLegend* legend = plot.legend;
  if (legend->layout() != plot.plotLayout()) return;
  std::vector<int> widths;
  // itemCount() counts the grid's cells, which wrapping can leave empty.
  for (int i = 0; i < legend->itemCount(); ++i) {
    if (const QCPAbstractLegendItem* item = legend->item(i))
      widths.push_back(item->minimumOuterSizeHint().width());
  }
  const int count = static_cast<int>(widths.size());
  if (count == 0) return;
  const int available = width - legend->margins().left() - legend->margins().right();
  int columns = 1;
  for (int c = count; c > 1; --c) {
    int total = legend->columnSpacing() * (c - 1);
    for (int column = 0; column < c; ++column) {
      int widest = 0;
      for (int i = column; i < count; i += c)
        widest = std::max(widest, widths[static_cast<std::size_t>(i)]);
      total += widest;
    }
    if (total <= available) {
      columns = c;
      break;
    }
  }
  legend->setWrap(columns);
  legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
}

// Category labels (the bar chart's metrics) wrap onto two lines while that fits their slot, and
// turn to a slant on one line when the chart is too narrow even for that.
void fit_category_labels(QCustomPlot& plot, int width) {
  auto ticker = plot.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
  if (!ticker || ticker->ticks().size() < 2) return;
  QMap<double, QString> ticks = ticker->ticks();
  double gap = plot.xAxis->range().size();
  for (auto it = std::next(ticks.begin()); it != ticks.end(); ++it)
    gap = std::min(gap, it.key() - std::prev(it).key());
  // The y axis, its label and the margins take about this much of the width.
  constexpr double kAxisMargin = 90;
  const double slot = (width - kAxisMargin) * gap / plot.xAxis->range().size();
  const QFontMetrics metrics(plot.xAxis->tickLabelFont());
  bool fits = true;
  for (auto it = ticks.begin(); it != ticks.end(); ++it) {
    const QString wrapped = wrap_label(it.value().replace('\n', ' ').toStdString());
    for (const QString& line : wrapped.split('\n'))
      fits = fits && metrics.horizontalAdvance(line) <= 0.95 * slot;
    it.value() = wrapped;
  }
  if (!fits) {
    for (auto it = ticks.begin(); it != ticks.end(); ++it)
      it.value().replace('\n', ' ');
  }
  ticker->setTicks(ticks);
  plot.xAxis->setTickLabelRotation(fits ? 0 : -30);
}

}  // namespace

void fit_chart_to_width(QCustomPlot& plot, int width) {
  fit_legend(plot, width);
  fit_category_labels(plot, width);
}

RunsMetricTable runs_metric_table(const std::vector<viewdata::RunData>& runs) {
  RunsMetricTable table;
  table.metrics = headline_metrics();
  for (const auto& run : runs) {
    table.runs.push_back(run.display_name());
    auto& texts = table.texts.emplace_back();
    for (const auto& metric : table.metrics)
      texts.push_back(viewdata::format_stored(metric, run));
    auto& row = table.values.emplace_back();
    for (const auto& metric : table.metrics) {
      std::optional<double> value =
          metric.key == "speedup" ? speedup_of(run) : run.metric(metric.key);
      if (value && std::isfinite(*value)) {
        row.push_back(*value * metric.scale);
      } else {
        row.push_back(std::nullopt);
      }
    }
  }
  return table;
}

MetricUnit readable_unit(const MetricInfo& metric, const std::vector<viewdata::RunData>& runs) {
  if (std::string_view(metric.unit) != "µs") return {std::string(metric.unit), metric.scale};
  double largest = 0;  // stored in ns
  for (const auto& run : runs)
    largest = std::max(largest, std::abs(run.metric(metric.key).value_or(0)));
  if (largest >= 1e9) return {"s", 1e-9};
  if (largest >= 1e6) return {"ms", 1e-6};
  if (largest >= 1e3 || largest == 0) return {"µs", 1e-3};
  return {"ns", 1};
}

void plot_metric(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs,
                 const MetricInfo& metric) {
  const MetricUnit unit = readable_unit(metric, runs);
  const std::string better = viewdata::better_text(metric);
  // A short title, so that a small chart keeps its room for the data; the unit and which way
  // is better go on the value axis.
  prepare_plot(plot, qstr(metric.label));
  std::string axis = unit.unit;
  if (!better.empty()) axis += (axis.empty() ? "" : ", ") + better;
  plot.yAxis->setLabel(qstr(axis));
  QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
  double top = 0, bottom = 0;
  const bool speedup = metric.key == "speedup";
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto x = static_cast<double>(r);
    ticker->addTick(x, QString("#%1").arg(runs[r].run.id));
    const std::optional<double> value = speedup ? speedup_of(runs[r]) : runs[r].metric(metric.key);
    if (!value || !std::isfinite(*value)) continue;
    auto* bars = new QCPBars(plot.xAxis, plot.yAxis);
    bars->setName(qstr(runs[r].display_name()));
    bars->removeFromLegend();
    const QColor color = series_color(static_cast<int>(r));
    bars->setPen(QPen(color.darker(115), 0));
    bars->setBrush(color);
    bars->setWidth(0.7);
    const double y = *value * unit.factor;
    bars->addData(x, y);
    top = std::max(top, y);
    bottom = std::min(bottom, y);
    const MetricRow* row = runs[r].metric_row(metric.key);
    if (row != nullptr && row->low && row->high) {
      auto* interval = new QCPErrorBars(plot.xAxis, plot.yAxis);
      interval->removeFromLegend();
      interval->setPen(QPen(QColor(0x33, 0x33, 0x33), 1.2));
      interval->setSymbolGap(0);
      interval->setDataPlottable(bars);
      interval->addData(std::max(0.0, y - *row->low * unit.factor),
                        std::max(0.0, *row->high * unit.factor - y));
      top = std::max(top, *row->high * unit.factor);
    }
  }
  plot.xAxis->setTicker(ticker);
  plot.xAxis->setSubTicks(false);
  plot.xAxis->grid()->setVisible(false);
  plot.xAxis->setRange(-0.6, static_cast<double>(runs.size()) - 0.4);
  if (speedup) {
    auto* one = new QCPItemStraightLine(&plot);
    one->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.2, Qt::DashLine));
    one->point1->setCoords(0, 1);
    one->point2->setCoords(1, 1);
    top = std::max(top, 1.0);
  }
  // From zero, so bar lengths compare; a little room above the tallest.
  plot.yAxis->setRange(bottom < 0 ? bottom * 1.1 : 0, top > 0 ? top * 1.12 : 1);
  // Bars of height 0 draw nothing: say so rather than show an empty chart.
  if (top == 0 && bottom == 0 && plot.plottableCount() > 0) {
    auto* zero = new QCPItemText(&plot);
    zero->position->setType(QCPItemPosition::ptAxisRectRatio);
    zero->position->setCoords(0.5, 0.5);
    zero->setFont(chart_font(9));
    zero->setColor(QColor(0x55, 0x5b, 0x66));
    zero->setText(QString("0%1 for every run").arg(unit.unit.empty() ? "" : " " + qstr(unit.unit)));
  }
  // No legend: the x labels name the runs. Out of the layout, so it takes no room.
  plot.legend->setVisible(false);
  if (plot.legend->layout() == plot.plotLayout()) {
    plot.plotLayout()->take(plot.legend);
    plot.plotLayout()->simplify();
  }
}

void plot_layer_latency(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs) {
  prepare_plot(plot, "Mean layer latency over the steps");
  double lowest = 0, highest = 0, slowest = 0;
  bool first = true;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    QCPGraph* graph = plot.addGraph();
    graph->setName(qstr(runs[r].display_name()));
    const QColor color = series_color(static_cast<int>(r));
    graph->setPen(QPen(color, 2));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 6));
    for (const auto& l : viewdata::latency_per_layer(runs[r])) {
      graph->addData(l.layer, l.latency_ns / 1e3);
      lowest = first ? l.layer : std::min<double>(lowest, l.layer);
      highest = first ? l.layer : std::max<double>(highest, l.layer);
      slowest = std::max(slowest, l.latency_ns / 1e3);
      first = false;
    }
  }
  // A tick at each layer the runs hold (often a subset such as 0, 3, 7, 11), while they fit.
  std::set<int> held;
  for (const auto& run : runs) {
    for (const auto& l : viewdata::latency_per_layer(run))
      held.insert(l.layer);
  }
  if (held.size() <= 24) {
    QSharedPointer<QCPAxisTickerText> layers(new QCPAxisTickerText);
    for (const int layer : held)
      layers->addTick(layer, QString::number(layer));
    plot.xAxis->setTicker(layers);
  } else {
    QSharedPointer<QCPAxisTickerFixed> layers(new QCPAxisTickerFixed);
    layers->setTickStep(1);
    layers->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot.xAxis->setTicker(layers);
  }
  plot.xAxis->setSubTicks(false);
  plot.xAxis->setLabel("MoE layer");
  plot.xAxis->setRange(lowest - 0.5, highest + 0.5);
  plot.yAxis->setLabel("Mean latency (µs)");
  plot.yAxis->setRange(0, slowest > 0 ? slowest * 1.1 : 1);
  finish_legend(plot);
}

std::vector<SweepSeries> group_sweep_runs(const std::vector<StoredRun>& runs) {
  std::set<std::string> models;
  std::set<int> devices;
  std::set<std::optional<std::int64_t>> groups;
  for (const auto& run : runs) {
    if (!run.gamma) continue;
    models.insert(run.model);
    devices.insert(run.devices);
    groups.insert(run.group);
  }
  // The run group tells experiments apart: a sweep and a `run --compare` of the same model
  // may differ in layers or tokens, and one line through both would mix them.
  using Key = std::tuple<std::string, int, std::optional<std::int64_t>, std::string,
                         std::vector<std::string>>;
  std::map<Key, std::size_t> index;
  std::vector<SweepSeries> series;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const StoredRun& run = runs[i];
    if (!run.gamma) continue;
    const std::string kind = kind_of(run);
    std::vector<std::string> options = non_gamma_options(run.policy);
    Key key{run.model, run.devices, run.group, kind, options};
    auto [it, fresh] = index.try_emplace(key, series.size());
    if (fresh) {
      if (models.size() > 1) options.push_back(run.model);
      if (devices.size() > 1) {
        options.push_back(std::to_string(run.devices) +
                          (run.devices == 1 ? " device" : " devices"));
      }
      if (groups.size() > 1) {
        options.push_back(run.group ? "group " + std::to_string(*run.group) : "no group");
      }
      std::string label = kind;
      for (std::size_t o = 0; o < options.size(); ++o) {
        label += (o == 0 ? " (" : ", ") + options[o];
      }
      if (!options.empty()) label += ")";
      series.push_back({label, kind, {}});
    }
    series[it->second].members.push_back(i);
  }
  for (auto& s : series) {
    std::stable_sort(s.members.begin(), s.members.end(), [&](std::size_t a, std::size_t b) {
      return std::tie(*runs[a].gamma, runs[a].id) < std::tie(*runs[b].gamma, runs[b].id);
    });
  }
  return series;
}

bool has_sweep(const std::vector<viewdata::RunData>& runs) {
  std::vector<StoredRun> stored;
  for (const auto& r : runs)
    stored.push_back(r.run);
  for (const auto& s : group_sweep_runs(stored)) {
    std::set<double> gammas;
    for (std::size_t i : s.members) {
      if (speedup_of(runs[i])) gammas.insert(*runs[i].run.gamma);
    }
    if (gammas.size() > 1) return true;
  }
  return false;
}

void plot_sweep(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs, SweepMetric metric) {
  const bool speedup = metric == SweepMetric::kSpeedup;
  const char* const key = metric == SweepMetric::kDropRate ? "drop_rate" : "lost_pairs";
  prepare_plot(plot, speedup ? "Speedup against the capacity factor γ (with 95% intervals)"
                     : metric == SweepMetric::kDropRate
                         ? "Drop rate against the capacity factor γ"
                         : "Lost pairs against the capacity factor γ");
  std::vector<StoredRun> stored;
  for (const auto& r : runs)
    stored.push_back(r.run);
  double low = 0, high = 0, top = speedup ? 1.0 : 0.0;
  bool first = true;
  const auto series = group_sweep_runs(stored);
  for (std::size_t s = 0; s < series.size(); ++s) {
    QCPGraph* graph = plot.addGraph();
    graph->setName(qstr(series[s].label));
    const QColor color = series_color(static_cast<int>(s));
    graph->setPen(QPen(color, 2));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 7));
    // A speedup's interval as error bars: a bar across 1× is no significant change.
    QCPErrorBars* bars = nullptr;
    QVector<double> below, above;
    if (speedup) {
      bars = new QCPErrorBars(plot.xAxis, plot.yAxis);
      bars->removeFromLegend();
      bars->setPen(QPen(color, 1.2));
    }
    for (std::size_t i : series[s].members) {
      const viewdata::RunData& run = runs[i];
      const std::optional<double> value = speedup ? speedup_of(run) : run.metric(key);
      if (!value || !std::isfinite(*value)) continue;
      const double y = speedup ? *value : *value * 100;
      const double gamma = *run.run.gamma;
      graph->addData(gamma, y);
      if (bars != nullptr) {
        const MetricRow* row = run.metric_row("speedup");
        const bool spread = row != nullptr && row->low && row->high;
        below << (spread ? std::max(0.0, y - *row->low) : 0.0);
        above << (spread ? std::max(0.0, *row->high - y) : 0.0);
        if (spread) top = std::max(top, *row->high);
      }
      low = first ? gamma : std::min(low, gamma);
      high = first ? gamma : std::max(high, gamma);
      top = std::max(top, y);
      first = false;
    }
    if (bars != nullptr) {
      bars->setDataPlottable(graph);
      bars->setData(below, above);
    }
  }
  const double pad = high > low ? (high - low) * 0.05 : 0.25;
  plot.xAxis->setRange(low - pad, high + pad);
  if (speedup) {
    // The paper's reference: above the dashed line a policy beats running without one.
    QCPGraph* baseline = plot.addGraph();
    baseline->setName("baseline (no policy)");
    baseline->setPen(QPen(QColor(0x55, 0x55, 0x55), 1.5, Qt::DashLine));
    baseline->addData(low - pad, 1.0);
    baseline->addData(high + pad, 1.0);
  }
  plot.xAxis->setLabel("Capacity factor γ");
  plot.yAxis->setLabel(speedup                            ? "Speedup vs baseline (×)"
                       : metric == SweepMetric::kDropRate ? "Drop rate (% of routed pairs)"
                                                          : "Lost pairs (% of top-k pairs)");
  plot.yAxis->setRange(0, top > 0 ? top * 1.12 : 1);
  finish_legend(plot);
}

std::string tradeoff_cost_name(TradeoffCost cost) {
  switch (cost) {
    case TradeoffCost::kLostPairs:
      return "Lost pairs (%)";
    case TradeoffCost::kGateMassLost:
      return "Gate mass lost (%)";
    case TradeoffCost::kOutputError:
      break;
  }
  return "Output error (rel. L2)";
}

namespace {

std::optional<double> cost_of(const viewdata::RunData& run, TradeoffCost cost) {
  switch (cost) {
    case TradeoffCost::kLostPairs:
      if (auto v = run.metric("lost_pairs")) return *v * 100;
      return std::nullopt;
    case TradeoffCost::kGateMassLost:
      if (auto v = run.metric("gate_mass_kept")) return (1.0 - *v) * 100;
      return std::nullopt;
    case TradeoffCost::kOutputError:
      break;
  }
  return run.metric("output_error");
}

}  // namespace

void mark_pareto_front(std::vector<TradeoffPoint>& points) {
  for (auto& p : points) {
    p.pareto = std::none_of(points.begin(), points.end(), [&p](const TradeoffPoint& q) {
      return q.cost <= p.cost && q.speedup >= p.speedup &&
             (q.cost < p.cost || q.speedup > p.speedup);
    });
  }
}

std::vector<TradeoffPoint> tradeoff_points(const std::vector<viewdata::RunData>& runs,
                                           TradeoffCost cost) {
  std::vector<TradeoffPoint> points;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::optional<double> speedup = speedup_of(runs[i]);
    const std::optional<double> c = cost_of(runs[i], cost);
    if (!speedup || !c || !std::isfinite(*speedup) || !std::isfinite(*c)) continue;
    TradeoffPoint p;
    p.run = i;
    p.cost = *c;
    p.speedup = *speedup;
    if (const MetricRow* row = runs[i].metric_row("speedup")) {
      p.low = row->low;
      p.high = row->high;
    }
    points.push_back(p);
  }
  mark_pareto_front(points);
  return points;
}

void plot_tradeoff(QCustomPlot& plot, const std::vector<viewdata::RunData>& runs,
                   TradeoffCost cost) {
  prepare_plot(plot, "Speedup against its cost (95% intervals; Pareto front dashed)");
  const std::vector<TradeoffPoint> points = tradeoff_points(runs, cost);
  std::vector<const TradeoffPoint*> of_run(runs.size(), nullptr);
  for (const auto& p : points)
    of_run[p.run] = &p;
  std::vector<StoredRun> stored;
  for (const auto& r : runs)
    stored.push_back(r.run);
  std::vector<SweepSeries> series = group_sweep_runs(stored);
  SweepSeries baselines{"baseline (no policy)", "none", {}};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].run.gamma) baselines.members.push_back(i);
  }
  if (!baselines.members.empty()) series.insert(series.begin(), baselines);
  double right = 0, top = 1.0, bottom = 1.0;
  for (std::size_t s = 0; s < series.size(); ++s) {
    // A curve, not a graph: its points stay in gamma order, however the costs fall.
    auto* curve = new QCPCurve(plot.xAxis, plot.yAxis);
    curve->setName(qstr(series[s].label));
    const QColor color = s == 0 && !baselines.members.empty() ? QColor(0x55, 0x55, 0x55)
                                                              : series_color(static_cast<int>(s));
    curve->setPen(QPen(color, 1.5));
    curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 8));
    if (series[s].policy_kind == "none") curve->setLineStyle(QCPCurve::lsNone);
    auto* bars = new QCPErrorBars(plot.xAxis, plot.yAxis);
    bars->removeFromLegend();
    bars->setPen(QPen(color, 1.2));
    QVector<double> below, above;
    double t = 0;
    for (std::size_t i : series[s].members) {
      const TradeoffPoint* p = of_run[i];
      if (p == nullptr) continue;
      curve->addData(t++, p->cost, p->speedup);
      below << (p->low ? std::max(0.0, p->speedup - *p->low) : 0.0);
      above << (p->high ? std::max(0.0, *p->high - p->speedup) : 0.0);
      right = std::max(right, p->cost);
      top = std::max(top, p->high.value_or(p->speedup));
      bottom = std::min(bottom, p->low.value_or(p->speedup));
    }
    bars->setDataPlottable(curve);
    bars->setData(below, above);
  }
  // The front as a staircase: from each point on it, as fast until the next costlier one.
  std::vector<const TradeoffPoint*> front;
  for (const auto& p : points) {
    if (p.pareto) front.push_back(&p);
  }
  std::sort(front.begin(), front.end(), [](const TradeoffPoint* a, const TradeoffPoint* b) {
    return a->cost != b->cost ? a->cost < b->cost : a->speedup < b->speedup;
  });
  if (!front.empty()) {
    auto* line = new QCPCurve(plot.xAxis, plot.yAxis);
    line->setName("Pareto front");
    line->setPen(QPen(QColor(0x22, 0x22, 0x22), 1.2, Qt::DashLine));
    double t = 0;
    for (std::size_t f = 0; f < front.size(); ++f) {
      if (f > 0) line->addData(t++, front[f]->cost, front[f - 1]->speedup);
      line->addData(t++, front[f]->cost, front[f]->speedup);
    }
  }
  const double pad_x = right > 0 ? right * 0.06 : 1.0;
  const double pad_y = std::max(0.05, (top - bottom) * 0.08);
  plot.xAxis->setRange(-pad_x, right + pad_x);
  plot.yAxis->setRange(std::min(bottom, 1.0) - pad_y, top + pad_y);
  plot.xAxis->setLabel(qstr(tradeoff_cost_name(cost) + ", lower is better"));
  plot.yAxis->setLabel("Speedup vs baseline (×), higher is better");
  finish_legend(plot);
}

}  // namespace moescope::charts
