#include "app/charts/report_writer.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include <qcustomplot.h>
#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QPageLayout>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QTextDocument>
#include <QUrl>
#include <nlohmann/json.hpp>

#include "app/charts/chart_export.h"
#include "app/charts/compare_charts.h"
#include "app/charts/heatmap_chart.h"
#include "app/charts/timeline_plottable.h"
#include "app/viewdata/device_summary.h"
#include "app/viewdata/html_escape.h"
#include "app/viewdata/loaded_run.h"
#include "app/viewdata/metric_text.h"
#include "app/viewdata/report_summary.h"
#include "core/base/error.h"
#include "core/run/metric_table.h"
#include "core/session/session_store.h"

namespace moescope::charts {

namespace {

using viewdata::html_escape;

// How a chart is drawn: at a logical size whose fonts read well at the width the page shows
// it, with enough pixels to stay sharp when a browser zooms or a PDF is printed.
struct ChartSize {
  int width;
  int height;
  double scale;
};
constexpr ChartSize kBrowserChart = {960, 520, 2};
// A4 within the 2 cm margins QTextDocument::print adds is 640 of the 1/96-inch units it
// sizes images in; drawn at 760 and shown at 640, 9-point chart text prints at 7.5 points.
constexpr ChartSize kPrintChart = {760, 440, 3};
constexpr int kPrintChartShownWidth = 640;
// Up to this many runs the metrics table has a column per run (metrics as rows), which reads
// best; more runs get a row each, so the table grows down the page instead of off it.
constexpr std::size_t kMaxRunColumns = 5;

struct Chart {
  QString file;  // file name in the Markdown folder and resource name in the PDF
  std::string title;
  QByteArray png;
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t text_columns = 1;  // the first ones; the rest hold numbers (right-aligned)
};

struct RunSection {
  std::string name;
  Table layers;
  // The first run's whole request (pretty-printed JSON); for the others, what differs from it.
  std::string spec;
  std::vector<std::string> spec_differences;
  bool first = false;
};

// The baseline or the best policy up close: where its time goes.
struct FocusRun {
  std::string heading;  // "Baseline: none (#1)"
  std::vector<Chart> charts;
  Table devices;
  std::string error;  // why its loads or spans could not be shown
};

struct Report {
  std::string title;
  std::string generated_at;
  std::string tool_version;
  std::vector<std::string> sessions;
  std::string summary;  // the answer, in one paragraph (viewdata::summary_paragraph)
  Table runs;
  Table metrics;
  std::vector<Chart> charts;
  std::vector<FocusRun> focus;
  std::vector<RunSection> sections;
};

// Every image of the report, in the order they appear.
std::vector<const Chart*> all_charts(const Report& r) {
  std::vector<const Chart*> out;
  for (const auto& chart : r.charts)
    out.push_back(&chart);
  for (const auto& focus : r.focus) {
    for (const auto& chart : focus.charts)
      out.push_back(&chart);
  }
  return out;
}

std::string quoted(const QString& path) {
  return "'" + path.toStdString() + "'";
}

template <typename Plot>
Chart render_chart(const QString& file, const std::string& title, ChartSize size, Plot&& plot_fn) {
  QCustomPlot plot;
  plot.resize(size.width, size.height);
  plot_fn(plot);
  // Many runs make a legend of many rows: grow the chart by them rather than squeeze the data.
  constexpr int kLegendRowsIncluded = 2;
  const int legend_rows = plot.legend->rowCount();
  const int row_height =
      legend_rows > 0 ? plot.legend->minimumOuterSizeHint().height() / legend_rows : 0;
  const int height = size.height + std::max(0, legend_rows - kLegendRowsIncluded) * row_height;
  plot.resize(size.width, height);
  const QImage image = plot.toPixmap(size.width, height, size.scale).toImage();
  QByteArray png;
  QBuffer buffer(&png);
  buffer.open(QIODevice::WriteOnly);
  if (!image.save(&buffer, "PNG")) throw Error("could not render the chart '" + title + "'");
  return {file, title, png};
}

// Headline metrics as small charts, each in its own unit, two to a row, in one image: the bars
// of one metric compare, bars of different metrics never share an axis. At most three rows, so
// that an image fits a printed page.
Chart render_metric_grid(const QString& file, const std::string& title,
                         const std::vector<viewdata::RunData>& runs,
                         const std::vector<MetricInfo>& metrics, ChartSize size) {
  constexpr int kColumns = 2;
  const int cell_width = size.width / kColumns;
  const int cell_height = size.height / 2;
  const int rows = (static_cast<int>(metrics.size()) + kColumns - 1) / kColumns;
  QImage image(static_cast<int>(size.width * size.scale),
               static_cast<int>(cell_height * rows * size.scale), QImage::Format_RGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    QCustomPlot plot;
    plot.resize(cell_width, cell_height);
    plot_metric(plot, runs, metrics[m]);
    fit_chart_to_width(plot, cell_width);
    const QPixmap cell = plot.toPixmap(cell_width, cell_height, size.scale);
    painter.drawPixmap(
        static_cast<int>((static_cast<int>(m) % kColumns) * cell_width * size.scale),
        static_cast<int>((static_cast<int>(m) / kColumns) * cell_height * size.scale), cell);
  }
  painter.end();
  QByteArray png;
  QBuffer buffer(&png);
  buffer.open(QIODevice::WriteOnly);
  if (!image.save(&buffer, "PNG")) throw Error("could not render the chart '" + title + "'");
  return {file, title, png};
}

Table runs_table(const std::vector<viewdata::RunData>& runs) {
  Table t;
  t.header = {"Run", "Model", "Policy", "Status", "Backend (timing)", "Devices", "Tokens", "Steps"};
  t.text_columns = 5;
  for (const auto& r : runs) {
    const StoredRun& s = r.run;
    t.rows.push_back({r.display_name(), s.model, s.policy, s.status,
                      s.backend + " (" + s.timing + ")", std::to_string(s.devices),
                      std::to_string(s.tokens), std::to_string(s.steps)});
  }
  return t;
}

Table metrics_table(const std::vector<viewdata::RunData>& runs) {
  const RunsMetricTable m = runs_metric_table(runs);
  Table t;
  if (m.runs.size() <= kMaxRunColumns) {
    t.header.push_back("Metric");
    for (const auto& name : m.runs)
      t.header.push_back(name);
    for (std::size_t i = 0; i < m.metrics.size(); ++i) {
      std::vector<std::string> row = {metric_heading(m.metrics[i])};
      for (const auto& texts : m.texts)
        row.push_back(texts[i]);
      t.rows.push_back(std::move(row));
    }
    return t;
  }
  t.header.push_back("Run");
  for (const auto& metric : m.metrics)
    t.header.push_back(metric_heading(metric));
  for (std::size_t r = 0; r < m.runs.size(); ++r) {
    std::vector<std::string> row = {m.runs[r]};
    for (const auto& text : m.texts[r])
      row.push_back(text);
    t.rows.push_back(std::move(row));
  }
  return t;
}

// What the headline table's figures are, and what their spreads are.
constexpr const char* kMetricsNote =
    "Means over every step and layer of each run; the speedup is against the run's baseline (no "
    "policy) on the same input. Timed figures show ± half their 95% interval over the repeats "
    "(a seeded bootstrap); a speedup whose interval holds 1 is shown as no significant change, "
    "and a policy that kept the baseline's pairs as the same work. The other figures are exact: a "
    "function of the routing and the policy, the same on every rerun.";

constexpr const char* kFocusNote =
    "The baseline and the policy the summary names, up close: each expert's kept rows against "
    "its layer's mean, and the straggler timeline (the median repeat of every layer; idle time is "
    "a device waiting for the layer's slowest one). Per device: its busy time, how often it was "
    "the straggler, how long it idled, its busiest experts.";

constexpr const char* kSpecNote =
    "The first run's whole request, which reproduces it; for every other run, only what its "
    "request changes (a run of the same comparison or sweep shares it).";

// Means over the steps, per layer: what a reader compares across layers.
Table layer_table(const viewdata::RunData& run) {
  struct Sums {
    double latency = 0, half = 0, margin = 0, imbalance_routed = 0, imbalance_kept = 0, drop = 0,
           error = 0;
    int steps = 0;
  };
  std::map<int, Sums> by_layer;
  for (const auto& l : run.layers) {
    Sums& s = by_layer[l.layer];
    s.latency += static_cast<double>(l.latency_ns);
    s.half += static_cast<double>(l.latency_high_ns - l.latency_low_ns) / 2;
    s.margin += static_cast<double>(l.straggler_margin_ns);
    s.imbalance_routed += l.imbalance_routed;
    s.imbalance_kept += l.imbalance_kept;
    s.drop += l.drop_rate;
    s.error += l.output_error;
    ++s.steps;
  }
  Table t;
  t.header = {"Layer",
              "Latency (µs, ± half its interval over the repeats)",
              "Straggler margin (µs)",
              "Imbalance routed (max/mean)",
              "Imbalance kept (max/mean)",
              "Drop rate (%)",
              "Output error (rel. L2)"};
  for (const auto& [layer, s] : by_layer) {
    const double n = s.steps;
    t.rows.push_back(
        {std::to_string(layer), viewdata::format_with_spread(s.latency / n / 1e3, s.half / n / 1e3),
         viewdata::format_value(s.margin / n / 1e3), viewdata::format_value(s.imbalance_routed / n),
         viewdata::format_value(s.imbalance_kept / n), viewdata::format_value(100 * s.drop / n),
         viewdata::format_value(s.error / n)});
  }
  return t;
}

Table device_table(const viewdata::TimelineData& timeline, const std::string& timing) {
  Table t;
  t.header = {"Device", "Busy per layer", "Straggler (% of layers)", "Idle (% of the expert phase)",
              "Busiest experts (per layer)"};
  t.text_columns = 1;
  for (const auto& d : viewdata::summarize_devices(timeline)) {
    std::string busiest;
    for (const auto& e : d.busiest) {
      // No break inside one expert's figure: "E4 263 µs" stays on one line (U+00A0).
      const std::string nbsp = "\u00a0";
      std::string duration = viewdata::format_duration(e.ns);
      duration.replace(duration.find(' '), 1, nbsp);
      busiest += (busiest.empty() ? "" : ", ") + std::string("E") + std::to_string(e.expert) +
                 nbsp + duration;
    }
    t.rows.push_back(
        {lane_label(timeline.lanes()[static_cast<std::size_t>(d.device)], timing).toStdString(),
         viewdata::format_duration(d.busy_ns), viewdata::format_value(100 * d.straggler_share),
         viewdata::format_value(100 * d.idle_share), busiest});
  }
  return t;
}

// The run up close: its load heatmap and its timeline, and the devices' summary. A run whose
// loads or spans cannot be read gets a line saying so; the report is still written.
FocusRun focus_run(const viewdata::RunData& run, const std::string& role, const QString& file_stem,
                   ChartSize size) {
  FocusRun focus;
  focus.heading = role + ": " + run.display_name();
  try {
    const viewdata::LoadedRun loaded = viewdata::load_run(run.session_path, run.run.id, nullptr);
    if (loaded.cube && !loaded.cube->empty()) {
      const viewdata::LoadCube& cube = *loaded.cube;
      focus.charts.push_back(render_chart(
          file_stem + "_heatmap.png", "Expert load of " + run.display_name(),
          {size.width, std::clamp(160 + 18 * cube.layer_count(), 300, 900), size.scale},
          [&](QCustomPlot& p) {
            HeatmapChart chart(p);
            HeatmapLabels labels;
            labels.title = "Kept rows ÷ the layer's mean (mean over steps)";
            labels.row_label = "Layer";
            labels.row_ids = cube.layer_ids();
            labels.value_label = "kept ÷ mean";
            labels.device_of_expert = cube.device_of_expert();
            chart.set_grid(cube.layer_grid(viewdata::LoadKind::kKept, true), labels);
          }));
    } else if (!loaded.cube_error.empty()) {
      focus.error += "Its loads could not be read: " + loaded.cube_error + ". ";
    }
    if (loaded.timeline && !loaded.timeline->empty()) {
      const viewdata::TimelineData& timeline = *loaded.timeline;
      focus.charts.push_back(render_chart(
          file_stem + "_timeline.png", "Straggler timeline of " + run.display_name(),
          {size.width, std::clamp(150 + 34 * timeline.devices(), 300, 900), size.scale},
          [&](QCustomPlot& p) {
            // The heading above names the run: the title stays short enough to fit.
            auto* plottable = setup_timeline_plot(p, loaded.timeline, run.run.timing, false);
            plottable->set_loads(loaded.cube);
            plottable->set_coloring(default_coloring(timeline, plottable->has_loads()));
          }));
      focus.devices = device_table(timeline, run.run.timing);
    } else if (!loaded.timeline_error.empty()) {
      focus.error += "Its spans could not be read: " + loaded.timeline_error + ".";
    }
  } catch (const std::exception& e) {
    focus.error = std::string("It could not be read: ") + e.what();
  }
  return focus;
}

// The baseline and the policy the summary names (else the fastest policy run), from the runs
// given or, for the baseline, from its session.
std::vector<FocusRun> focus_runs(const std::vector<viewdata::RunData>& runs, ChartSize size) {
  auto is_policy = [](const viewdata::RunData& r) { return r.run.baseline_run.has_value(); };
  std::optional<std::size_t> best = viewdata::best_policy_run(runs);
  std::string best_role = "Best policy";
  if (!best) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const auto speedup = runs[i].metric("speedup");
      if (!is_policy(runs[i]) || !speedup) continue;
      if (!best || *speedup > *runs[*best].metric("speedup")) best = i;
    }
    best_role = "Policy with the highest speedup (none is significantly faster)";
  }
  std::vector<FocusRun> out;
  if (best) {
    const viewdata::RunData& policy = runs[*best];
    const std::int64_t baseline_id = *policy.run.baseline_run;
    const auto it = std::find_if(runs.begin(), runs.end(), [&](const viewdata::RunData& r) {
      return r.session_path == policy.session_path && r.run.id == baseline_id;
    });
    if (it != runs.end()) {
      out.push_back(focus_run(*it, "Baseline", "baseline", size));
    } else {
      try {
        SessionStore store(policy.session_path, SessionStore::Access::kRead);
        out.push_back(
            focus_run(viewdata::load_run_data(store, baseline_id), "Baseline", "baseline", size));
      } catch (const std::exception& e) {
        out.push_back({"Baseline: run #" + std::to_string(baseline_id),
                       {},
                       {},
                       std::string("It could not be read: ") + e.what()});
      }
    }
    out.push_back(focus_run(policy, best_role, "best_policy", size));
  } else {
    out.push_back(focus_run(runs.front(), "Run", "run", size));
  }
  return out;
}

Report build_report(const std::vector<viewdata::RunData>& runs, const ReportOptions& options,
                    ChartSize chart_size) {
  Report report;
  report.title = options.title;
  report.generated_at = options.generated_at.empty() ? utc_now_iso8601() : options.generated_at;
  report.tool_version = options.tool_version;
  std::set<std::string> seen;
  for (const auto& r : runs) {
    if (seen.insert(r.session_path).second) report.sessions.push_back(r.session_path);
  }
  report.summary = viewdata::summary_paragraph(runs);
  report.runs = runs_table(runs);
  report.metrics = metrics_table(runs);
  report.charts.push_back(
      render_chart("tradeoff.png", "Trade-off: speedup against output error", chart_size,
                   [&](QCustomPlot& p) { plot_tradeoff(p, runs, TradeoffCost::kOutputError); }));
  const auto metrics = headline_metrics();
  constexpr std::size_t kPerImage = 6;  // three rows of two
  for (std::size_t first = 0, part = 1; first < metrics.size(); first += kPerImage, ++part) {
    const std::vector<MetricInfo> some(
        metrics.begin() + static_cast<std::ptrdiff_t>(first),
        metrics.begin() + static_cast<std::ptrdiff_t>(std::min(metrics.size(), first + kPerImage)));
    report.charts.push_back(
        render_metric_grid(QString("headline_metrics_%1.png").arg(part),
                           "Headline metrics, each in its own unit (" + std::to_string(part) + ")",
                           runs, some, chart_size));
  }
  report.charts.push_back(render_chart("layer_latency.png", "Latency per layer", chart_size,
                                       [&](QCustomPlot& p) { plot_layer_latency(p, runs); }));
  if (has_sweep(runs)) {
    report.charts.push_back(
        render_chart("sweep_speedup.png", "Speedup against gamma", chart_size,
                     [&](QCustomPlot& p) { plot_sweep(p, runs, SweepMetric::kSpeedup); }));
    report.charts.push_back(
        render_chart("sweep_lost_pairs.png", "Lost pairs against gamma", chart_size,
                     [&](QCustomPlot& p) { plot_sweep(p, runs, SweepMetric::kLostPairs); }));
  }
  report.focus = focus_runs(runs, chart_size);
  for (const auto& r : runs) {
    RunSection section{r.display_name(), layer_table(r), {}, {}, report.sections.empty()};
    if (section.first) {
      section.spec = viewdata::pretty_request_json(r.run.request_json);
    } else {
      section.spec_differences =
          viewdata::request_differences(runs.front().run.request_json, r.run.request_json);
    }
    report.sections.push_back(std::move(section));
  }
  return report;
}

// ---- HTML (the file format, and the PDF's source) ----

// Browsers size tables to their content; QTextDocument (the PDF) squeezes a table without a
// width into narrow columns, so print tables take the page width.
enum class Target { kBrowser, kPrint };

// A number keeps its unit and its spread on its line: the spaces in "1855 ± 455" and "412 µs"
// do not break; the one before "(no significant change)" still may.
std::string unbroken(const std::string& text) {
  static const std::string kPlusMinus = "±";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ' ') {
      out += html_escape(std::string(1, text[i]));
      continue;
    }
    const bool after_digit = i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1]));
    const bool before_paren = i + 1 < text.size() && text[i + 1] == '(';
    const bool at_plus_minus =
        text.compare(i + 1, kPlusMinus.size(), kPlusMinus) == 0 ||
        (i >= kPlusMinus.size() &&
         text.compare(i - kPlusMinus.size(), kPlusMinus.size(), kPlusMinus) == 0);
    out += at_plus_minus || (after_digit && !before_paren) ? "&nbsp;" : " ";
  }
  return out;
}

void html_table(std::ostringstream& out, const Table& t, Target target) {
  // The header row in <thead>: on paper it repeats on every page the table spans.
  out << "<table class=\"data\" border=\"1\" cellspacing=\"0\" cellpadding=\"3\""
      << (target == Target::kPrint ? " width=\"100%\"" : "") << ">\n<thead><tr>";
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    out << "<th" << (c < t.text_columns ? " align=\"left\"" : " align=\"right\"")
        << (c == 0 && target == Target::kPrint ? " width=\"22%\"" : "") << ">"
        << html_escape(t.header[c]) << "</th>";
  }
  out << "</tr></thead>\n";
  for (const auto& row : t.rows) {
    out << "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) {
      out << "<td" << (c < t.text_columns ? "" : " align=\"right\"") << ">"
          << (c < t.text_columns ? html_escape(row[c]) : unbroken(row[c])) << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
}

// `image_src` gives each chart's src: a data URI for the file, a resource name for the PDF.
template <typename ImageSrc>
std::string report_html(const Report& r, Target target, ImageSrc&& image_src) {
  const bool print = target == Target::kPrint;
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<title>" << html_escape(r.title) << "</title>\n"
      << "<style>\n"
      << (print ? "table.data { font-size: 7.5pt; }\n"
                : "body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; "
                  "font-size: 10pt; color: #222; max-width: 1000px; margin: 24px auto; "
                  "padding: 0 16px; }\n")
      << "h1 { font-size: 18pt; margin-bottom: 4px; }\n"
         "h2 { font-size: 14pt; margin-top: 24px; border-bottom: 1px solid #ccc; }\n"
         "h3 { font-size: 11pt; margin-top: 16px; }\n"
         "p.meta { color: #555; font-size: 9pt; }\n"
         "table.data { border-collapse: collapse; border-color: #bbb; margin: 6px 0; }\n"
         "table.data th { background-color: #eef1f5; font-weight: bold; }\n"
         "table.data th, table.data td { border: 1px solid #bbb; padding: 3px 6px; }\n"
         "img.chart { max-width: 100%; height: auto; margin: 8px 0; }\n"
         "pre { font-family: 'DejaVu Sans Mono', monospace; font-size: 8pt; white-space: pre-wrap; "
         "background-color: #f6f8fa; padding: 6px; }\n"
         "</style>\n</head>\n<body>\n";
  out << "<h1>" << html_escape(r.title) << "</h1>\n<p class=\"meta\">Generated "
      << html_escape(r.generated_at);
  if (!r.tool_version.empty()) out << " by MoEScope " << html_escape(r.tool_version);
  out << "<br>Session" << (r.sessions.size() > 1 ? "s" : "") << ": ";
  for (std::size_t i = 0; i < r.sessions.size(); ++i) {
    out << (i ? ", " : "") << html_escape(r.sessions[i]);
  }
  out << "</p>\n";
  out << "<p class=\"summary\"><b>" << html_escape(r.summary) << "</b></p>\n";

  out << "<h2>Runs</h2>\n";
  html_table(out, r.runs, target);
  out << "<h2>Headline metrics</h2>\n<p>" << kMetricsNote << "</p>\n";
  html_table(out, r.metrics, target);
  // On paper the charts start a page: a heading alone at the foot of the previous one is lost.
  out << "<h2" << (print ? " style=\"page-break-before: always\"" : "") << ">Charts</h2>\n";
  for (const auto& chart : r.charts) {
    out << "<p><img class=\"chart\" src=\"" << image_src(chart) << "\" width=\""
        << (print ? kPrintChartShownWidth : kBrowserChart.width) << "\" alt=\""
        << html_escape(chart.title) << "\"></p>\n";
  }
  out << "<h2" << (print ? " style=\"page-break-before: always\"" : "")
      << ">Where the time goes</h2>\n<p>" << kFocusNote << "</p>\n";
  for (const auto& f : r.focus) {
    out << "<h3>" << html_escape(f.heading) << "</h3>\n";
    if (!f.error.empty()) out << "<p>" << html_escape(f.error) << "</p>\n";
    for (const auto& chart : f.charts) {
      out << "<p><img class=\"chart\" src=\"" << image_src(chart) << "\" width=\""
          << (print ? kPrintChartShownWidth : kBrowserChart.width) << "\" alt=\""
          << html_escape(chart.title) << "\"></p>\n";
    }
    if (!f.devices.rows.empty()) html_table(out, f.devices, target);
  }
  out << "<h2>Per-layer statistics</h2>\n<p>Means over the steps.</p>\n";
  for (const auto& s : r.sections) {
    out << "<h3>" << html_escape(s.name) << "</h3>\n";
    html_table(out, s.layers, target);
  }
  out << "<h2>Run specifications</h2>\n<p>" << kSpecNote << "</p>\n";
  for (const auto& s : r.sections) {
    out << "<h3>" << html_escape(s.name) << "</h3>\n";
    if (s.first) {
      out << "<pre>" << html_escape(s.spec) << "</pre>\n";
    } else if (s.spec_differences.empty()) {
      out << "<p>The same request as " << html_escape(r.sections.front().name) << ".</p>\n";
    } else {
      out << "<pre>";
      for (const auto& line : s.spec_differences)
        out << html_escape(line) << "\n";
      out << "</pre>\n";
    }
  }
  out << "</body>\n</html>\n";
  return out.str();
}

bool write_bytes(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
  if (file.write(bytes) != bytes.size()) return false;
  return file.flush();
}

void write_html(const Report& report, const QString& path) {
  const std::string html = report_html(report, Target::kBrowser, [](const Chart& chart) {
    return "data:image/png;base64," + chart.png.toBase64().toStdString();
  });
  write_atomically(path, [&](const QString& temp) {
    return write_bytes(temp, QByteArray::fromStdString(html));
  });
}

void write_pdf(const Report& report, const QString& path) {
  const std::string html = report_html(report, Target::kPrint,
                                       [](const Chart& chart) { return chart.file.toStdString(); });
  QTextDocument document;
  document.setDefaultFont(QFont("DejaVu Sans", 9));
  // Lines break between words only: a number is never split across lines (a column widens).
  QTextOption text_option = document.defaultTextOption();
  text_option.setWrapMode(QTextOption::WordWrap);
  document.setDefaultTextOption(text_option);
  for (const Chart* chart : all_charts(report)) {
    document.addResource(QTextDocument::ImageResource, QUrl(chart->file),
                         QImage::fromData(chart->png, "PNG"));
  }
  document.setHtml(QString::fromStdString(html));
  write_atomically(path, [&](const QString& temp) {
    QFile file(temp);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    {
      QPdfWriter writer(&file);
      writer.setPageSize(QPageSize(QPageSize::A4));
      // QTextDocument::print adds 2 cm margins and the page numbers in them.
      writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout::Millimeter);
      writer.setResolution(300);
      writer.setTitle(QString::fromStdString(report.title));
      writer.setCreator("MoEScope");
      document.print(&writer);
    }
    return file.flush() && file.error() == QFileDevice::NoError && file.size() > 0;
  });
}

// ---- Markdown ----

// Backslash-escapes what Markdown would read as markup or raw HTML: run names are user text.
std::string md_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      if (std::string_view("\\`*_[]<>|~&").find(c) != std::string_view::npos) out += '\\';
      out += c;
    }
  }
  return out;
}

void md_table(std::ostringstream& out, const Table& t) {
  out << "|";
  for (const auto& h : t.header)
    out << " " << md_escape(h) << " |";
  out << "\n|";
  for (std::size_t c = 0; c < t.header.size(); ++c)
    out << (c < t.text_columns ? " --- |" : " ---: |");
  out << "\n";
  for (const auto& row : t.rows) {
    out << "|";
    for (const auto& cell : row)
      out << " " << md_escape(cell) << " |";
    out << "\n";
  }
  out << "\n";
}

// A code fence longer than any run of backticks in the text, so no spec text can close it.
std::string fence_for(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (const char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void write_markdown(const Report& r, const QString& path) {
  const QFileInfo info(path);
  const QString folder_name = info.completeBaseName() + "_files";
  const QDir folder(info.absoluteDir().filePath(folder_name));
  if (!info.absoluteDir().exists()) {
    throw Error("cannot write " + quoted(path) + ": the folder " +
                quoted(info.absoluteDir().path()) + " does not exist");
  }
  if (!folder.exists() && !QDir().mkpath(folder.path())) {
    throw Error("cannot write " + quoted(path) + ": cannot create the folder " +
                quoted(folder.path()) + " for its charts");
  }
  for (const Chart* chart : all_charts(r)) {
    write_atomically(folder.filePath(chart->file),
                     [&](const QString& temp) { return write_bytes(temp, chart->png); });
  }
  std::ostringstream out;
  out << "# " << md_escape(r.title) << "\n\nGenerated " << md_escape(r.generated_at);
  if (!r.tool_version.empty()) out << " by MoEScope " << md_escape(r.tool_version);
  out << ".  \nSession" << (r.sessions.size() > 1 ? "s" : "") << ": ";
  for (std::size_t i = 0; i < r.sessions.size(); ++i)
    out << (i ? ", " : "") << md_escape(r.sessions[i]);
  out << "\n\n**" << md_escape(r.summary) << "**\n\n## Runs\n\n";
  md_table(out, r.runs);
  out << "## Headline metrics\n\n" << kMetricsNote << "\n\n";
  md_table(out, r.metrics);
  out << "## Charts\n\n";
  const QByteArray link_folder = QUrl::toPercentEncoding(folder_name);
  for (const auto& chart : r.charts) {
    out << "![" << md_escape(chart.title) << "](" << link_folder.toStdString() << "/"
        << QUrl::toPercentEncoding(chart.file).toStdString() << ")\n\n";
  }
  out << "## Where the time goes\n\n" << kFocusNote << "\n\n";
  for (const auto& f : r.focus) {
    out << "### " << md_escape(f.heading) << "\n\n";
    if (!f.error.empty()) out << md_escape(f.error) << "\n\n";
    for (const auto& chart : f.charts) {
      out << "![" << md_escape(chart.title) << "](" << link_folder.toStdString() << "/"
          << QUrl::toPercentEncoding(chart.file).toStdString() << ")\n\n";
    }
    if (!f.devices.rows.empty()) md_table(out, f.devices);
  }
  out << "## Per-layer statistics\n\nMeans over the steps.\n\n";
  for (const auto& s : r.sections) {
    out << "### " << md_escape(s.name) << "\n\n";
    md_table(out, s.layers);
  }
  out << "## Run specifications\n\n" << kSpecNote << "\n\n";
  for (const auto& s : r.sections) {
    out << "### " << md_escape(s.name) << "\n\n";
    if (s.first) {
      const std::string fence = fence_for(s.spec);
      out << fence << "json\n" << s.spec << "\n" << fence << "\n\n";
    } else if (s.spec_differences.empty()) {
      out << "The same request as " << md_escape(r.sections.front().name) << ".\n\n";
    } else {
      std::string lines;
      for (const auto& line : s.spec_differences)
        lines += line + "\n";
      const std::string fence = fence_for(lines);
      out << fence << "\n" << lines << fence << "\n\n";
    }
  }
  const std::string text = out.str();
  write_atomically(path, [&](const QString& temp) {
    return write_bytes(temp, QByteArray::fromStdString(text));
  });
}

}  // namespace

ReportFormat report_format(const QString& path) {
  const QString extension = QFileInfo(path).suffix().toLower();
  if (extension == "html" || extension == "htm") return ReportFormat::kHtml;
  if (extension == "pdf") return ReportFormat::kPdf;
  if (extension == "md") return ReportFormat::kMarkdown;
  throw Error("cannot write a report to " + quoted(path) + ": unknown extension '" +
              (extension.isEmpty() ? std::string() : "." + extension.toStdString()) +
              "' (use .html, .htm, .pdf or .md)");
}

void write_report(const std::vector<viewdata::RunData>& runs, const QString& path,
                  const ReportOptions& options) {
  const ReportFormat format = report_format(path);
  if (runs.empty()) throw Error("cannot write a report to " + quoted(path) + ": no runs given");
  const Report report =
      build_report(runs, options, format == ReportFormat::kPdf ? kPrintChart : kBrowserChart);
  switch (format) {
    case ReportFormat::kHtml:
      write_html(report, path);
      break;
    case ReportFormat::kPdf:
      write_pdf(report, path);
      break;
    case ReportFormat::kMarkdown:
      write_markdown(report, path);
      break;
  }
}

}  // namespace moescope::charts
