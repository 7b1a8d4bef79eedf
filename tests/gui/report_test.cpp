// Comparison charts, chart export and reports, checked the way a reader would: images decoded
// at their pixel size, PDF text extracted, HTML and Markdown parsed for what they must hold.
#include <qcustomplot.h>
#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/resource.h>

#include <cmath>
#include <csignal>

#include "app/charts/chart_export.h"
#include "app/charts/compare_charts.h"
#include "app/charts/report_writer.h"
#include "app/viewdata/metric_text.h"
#include "app/viewdata/report_summary.h"
#include "app/viewdata/run_data.h"
#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"

using namespace moescope;
using namespace moescope::charts;

namespace {

const std::string kScriptName = "<script>alert(1)</script>";

QByteArray read_all(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) return {};
  return file.readAll();
}

void write_all(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
  file.write(bytes);
}

// The text of a PDF as pdftotext extracts it, whitespace removed (table cells wrap names), or
// a null string when poppler-utils are missing.
QString pdf_text(const QString& path) {
  const QString tool = QStandardPaths::findExecutable("pdftotext");
  if (tool.isEmpty()) return {};
  QProcess process;
  process.start(tool, {path, "-"});
  if (!process.waitForFinished(60000) || process.exitCode() != 0) return "(pdftotext failed)";
  return QString::fromUtf8(process.readAllStandardOutput()).remove(QRegularExpression("\\s"));
}

QString squeeze(const std::string& text) {
  return QString::fromStdString(text).remove(QRegularExpression("\\s"));
}

std::string expect_error(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Runs `action` as if the disk were full: no file may grow (SIGXFSZ ignored, so a write fails
// with EFBIG instead of ending the test).
void with_a_full_disk(const std::function<void()>& action) {
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit none = old;
  none.rlim_cur = 0;
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &none);
  struct Restore {
    rlimit limit;
    void (*handler)(int);
    ~Restore() {
      setrlimit(RLIMIT_FSIZE, &limit);
      std::signal(SIGXFSZ, handler);
    }
  } restore{old, old_handler};
  action();
}

StoredRun stored(std::int64_t id, const std::string& policy, const std::string& kind,
                 std::optional<double> gamma, int devices = 8,
                 std::optional<std::int64_t> group = 1) {
  StoredRun r;
  r.id = id;
  r.model = "olmoe-1b-7b";
  r.policy = policy;
  r.policy_kind = kind;
  r.gamma = gamma;
  r.devices = devices;
  r.group = group;
  return r;
}

}  // namespace

class ReportTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::vector<viewdata::RunData>
      compare_;                         // baseline, drop, expanded, reroute of one `--compare` run
  std::vector<viewdata::RunData> all_;  // compare_ and a drop sweep over three gammas

  QString path(const QString& name) const { return dir_.filePath(name); }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    SessionStore store(path("session.moescope").toStdString(), SessionStore::Access::kWrite);
    Experiment e;
    e.model.scale = 64;
    e.model.layers = {0, 3, 7};
    e.routing.tokens = 96;
    e.seed = 1;
    e.devices = {4};
    e.policies.kinds = compared_kinds();
    e.backend = "cpu";
    const auto backend = make_cpu_backend();
    const auto compare = record_experiment(store, e, *backend, nullptr, nullptr).batches.front();
    store.rename_run(compare.run_ids[1], kScriptName);

    e.policies.kinds = {PolicyKind::kDrop};
    e.policies.gammas = {0.5, 1.0, 2.0};
    const auto sweep = record_experiment(store, e, *backend, nullptr, nullptr).batches.front();
    std::vector<std::int64_t> ids = compare.run_ids;
    ids.insert(ids.end(), sweep.run_ids.begin(), sweep.run_ids.end());
    for (const auto id : ids)
      all_.push_back(viewdata::load_run_data(store, id));
    compare_.assign(all_.begin(), all_.begin() + 4);
  }

  void metricTableHoldsActualValuesInDisplayUnits() {
    const RunsMetricTable table = runs_metric_table(compare_);
    QCOMPARE(table.runs.size(), compare_.size());
    QCOMPARE(table.metrics.size(), headline_metrics().size());
    for (std::size_t r = 0; r < compare_.size(); ++r) {
      QCOMPARE(table.runs[r], compare_[r].display_name());
      for (std::size_t m = 0; m < table.metrics.size(); ++m) {
        const auto& metric = table.metrics[m];
        const auto stored_value = compare_[r].metric(metric.key);
        QVERIFY2(stored_value.has_value(), std::string(metric.key).c_str());
        QVERIFY(table.values[r][m].has_value());
        QCOMPARE(*table.values[r][m], *stored_value * metric.scale);
      }
    }
    // The latency is stored in ns and shown in µs.
    QCOMPARE(*table.values[0][0], *compare_[0].metric("latency_ns") / 1e3);
  }

  // Drawing again into the same plot (the Compare view redraws in place) replaces the bars.
  void aMetricChartRedrawnInPlaceKeepsOneBarPerRun() {
    QCustomPlot plot;
    plot.resize(400, 260);
    for (int twice = 0; twice < 2; ++twice)
      plot_metric(plot, compare_, metric_info("drop_rate"));
    int bars = 0;
    for (int i = 0; i < plot.plottableCount(); ++i)
      bars += qobject_cast<QCPBars*>(plot.plottable(i)) != nullptr;
    QCOMPARE(bars, static_cast<int>(compare_.size()));
  }

  // The trade-off's points are the stored metrics, in the cost's display unit.
  void tradeoffPointsAreTheStoredMetrics() {
    for (auto cost :
         {TradeoffCost::kOutputError, TradeoffCost::kLostPairs, TradeoffCost::kGateMassLost}) {
      const auto points = tradeoff_points(all_, cost);
      QCOMPARE(points.size(), all_.size());  // every run has a speedup and every cost
      for (const auto& p : points) {
        const viewdata::RunData& run = all_[p.run];
        QCOMPARE(p.speedup, *run.metric("speedup"));
        const double expected = cost == TradeoffCost::kOutputError ? *run.metric("output_error")
                                : cost == TradeoffCost::kLostPairs
                                    ? *run.metric("lost_pairs") * 100
                                    : (1.0 - *run.metric("gate_mass_kept")) * 100;
        QCOMPARE(p.cost, expected);
        const MetricRow* row = run.metric_row("speedup");
        QCOMPARE(p.low, row->low);
        QCOMPARE(p.high, row->high);
      }
    }
    // The baseline costs nothing and sits at 1x: nothing is cheaper, so it is on the front.
    const auto points = tradeoff_points(compare_, TradeoffCost::kOutputError);
    QCOMPARE(points.front().cost, 0.0);
    QVERIFY(points.front().pareto);
  }

  // Hand-checked: C is beaten by B (cheaper and faster), E by D (as costly, slower); B and F
  // tie, so both stay.
  void paretoFrontIsTheUndominatedPoints() {
    const std::vector<std::pair<double, double>> at = {{0.0, 1.0}, {0.1, 1.5}, {0.2, 1.4},
                                                       {0.3, 2.0}, {0.3, 1.9}, {0.1, 1.5}};
    std::vector<TradeoffPoint> points;
    for (std::size_t i = 0; i < at.size(); ++i) {
      TradeoffPoint p;
      p.run = i;
      p.cost = at[i].first;
      p.speedup = at[i].second;
      points.push_back(p);
    }
    mark_pareto_front(points);
    std::vector<std::size_t> front;
    for (const auto& p : points) {
      if (p.pareto) front.push_back(p.run);
    }
    QCOMPARE(front, (std::vector<std::size_t>{0, 1, 3, 5}));
  }

  void tradeoffChartDrawsASeriesPerPolicyAndTheFront() {
    QCustomPlot plot;
    plot_tradeoff(plot, all_, TradeoffCost::kLostPairs);
    // baselines, drop, expanded, reroute of the comparison, the sweep's drop line, the front
    const int curves = plot.plottableCount() / 2 + 1;  // each series has its error bars
    QCOMPARE(curves, 6);
    auto* front = qobject_cast<QCPCurve*>(plot.plottable(plot.plottableCount() - 1));
    QVERIFY(front != nullptr);
    QCOMPARE(front->name(), QString("Pareto front"));
    QVERIFY(plot.xAxis->label().contains("Lost pairs"));
    QVERIFY(plot.yAxis->label().contains("higher is better"));
  }

  // The summary names the policy with the best significant speedup: C (1.6x, interval above
  // 1) beats A (1.5x); B's 1.7x is no significant change and D did its baseline's work.
  void reportSummaryNamesTheBestSignificantSpeedup() {
    const auto run = [](std::int64_t id, const char* policy, double speedup, double low,
                        double high, double error) {
      viewdata::RunData r;
      r.run.id = id;
      r.run.name = std::string("olmoe ") + policy;
      r.run.policy = policy;
      r.run.baseline_run = 1;
      r.metrics = {{"speedup", speedup, speedup, low, high},
                   {"output_error", error, error, std::nullopt, std::nullopt},
                   {"lost_pairs", 0.25, 0.3, std::nullopt, std::nullopt},
                   {"gate_mass_kept", 0.8, 0.8, std::nullopt, std::nullopt}};
      return r;
    };
    viewdata::RunData baseline = run(1, "none", 1.0, 1.0, 1.0, 0.0);
    baseline.run.baseline_run.reset();
    const std::vector<viewdata::RunData> runs = {
        baseline, run(2, "drop(gamma=1)", 1.5, 1.2, 1.8, 0.3),
        run(3, "drop(gamma=1.5)", 1.7, 0.9, 2.5, 0.2), run(4, "drop(gamma=2)", 1.6, 1.4, 1.8, 0.4)};
    QCOMPARE(viewdata::best_policy_run(runs), std::optional<std::size_t>(3));
    const QString text = QString::fromStdString(viewdata::summary_paragraph(runs));
    QVERIFY2(text.startsWith("Best: run olmoe drop(gamma=2) (#4) is 1.6x"), qPrintable(text));
    // A's 1.5x and B's 1.7x both lie in C's interval, 1.4 to 1.8: not told apart from it.
    QVERIFY2(text.contains("Speedups inside its interval, not shown to differ from it: "
                           "drop(gamma=1) 1.5x, drop(gamma=1.5) 1.7x."),
             qPrintable(text));
    QVERIFY2(text.contains("95% interval 1.4 to 1.8"), qPrintable(text));
    QVERIFY2(text.contains("at an output error of 0.4 (relative L2), 25% of the top-k pairs lost "
                           "and 80% of the gate mass kept."),
             qPrintable(text));
    QVERIFY2(text.contains("Of the 3 policy runs, 2 are significantly faster, 1 shows no "
                           "significant change"),
             qPrintable(text));
    // One repeat: a zero-width interval shows no spread, so no change either.
    const std::vector<viewdata::RunData> one_repeat = {baseline,
                                                       run(5, "drop(gamma=3)", 3.1, 3.1, 3.1, 0.5)};
    QVERIFY(!viewdata::significant_speedup(one_repeat[1]));
    QVERIFY(!viewdata::best_policy_run(one_repeat));
    // Nothing significant: said so, no best.
    const std::vector<viewdata::RunData> none = {baseline, runs[2]};
    QVERIFY(!viewdata::best_policy_run(none));
    QVERIFY(QString::fromStdString(viewdata::summary_paragraph(none))
                .startsWith("No policy run is significantly faster"));
  }

  // A metric's chart holds the stored values in a readable unit, from zero, and says which way
  // is better; a latency of 900 µs reads in µs, one of 5 ms in ms.
  void metricChartsShowStoredValuesInTheirOwnUnit() {
    const MetricInfo& latency = metric_info("latency_ns");
    const MetricUnit unit = readable_unit(latency, compare_);
    double largest = 0;
    for (const auto& run : compare_)
      largest = std::max(largest, *run.metric("latency_ns"));
    QCOMPARE(QString::fromStdString(unit.unit), QString(largest >= 1e6   ? "ms"
                                                        : largest >= 1e3 ? "µs"
                                                                         : "ns"));
    QCustomPlot plot;
    plot_metric(plot, compare_, latency);
    int r = 0;
    for (int i = 0; i < plot.plottableCount(); ++i) {
      auto* bars = qobject_cast<QCPBars*>(plot.plottable(i));
      if (bars == nullptr) continue;
      QCOMPARE(bars->data()->constBegin()->value,
               *compare_[static_cast<std::size_t>(r++)].metric("latency_ns") * unit.factor);
    }
    QCOMPARE(r, static_cast<int>(compare_.size()));
    QCOMPARE(plot.yAxis->range().lower, 0.0);
    QCOMPARE(plot.yAxis->label(), QString::fromStdString(unit.unit) + QString(", lower is better"));
    QCustomPlot tokens;
    plot_metric(tokens, compare_, metric_info("tokens_fully_dropped"));
    QCOMPARE(tokens.yAxis->label(), QString("%, lower is better"));
  }

  void sweepRunsGroupByPolicyAndItsNonGammaOptions() {
    const std::vector<StoredRun> runs = {
        stored(1, "none", "none", std::nullopt),
        stored(2, "drop(gamma=2)", "drop", 2.0),
        stored(3, "drop(gamma=0.5)", "drop", 0.5),
        stored(4, "expanded(gamma=1,m=1)", "expanded", 1.0),
        stored(5, "drop(gamma=1,position)", "drop", 1.0),
        stored(6, "expanded(gamma=0.5,m=2)", "expanded", 0.5),
        stored(7, "drop(gamma=1)", "drop", 1.0),
        stored(8, "expanded(gamma=2,m=1)", "expanded", 2.0),
        stored(9, "drop(gamma=0.5,position)", "drop", 0.5),
        stored(10, "reroute(gamma=1.5,local,renorm)", "reroute", 1.5),
    };
    const auto series = group_sweep_runs(runs);
    QCOMPARE(series.size(), std::size_t{5});
    QCOMPARE(series[0].label, std::string("drop"));
    QCOMPARE(series[0].policy_kind, std::string("drop"));
    QCOMPARE(series[0].members, (std::vector<std::size_t>{2, 6, 1}));  // gamma 0.5, 1, 2
    QCOMPARE(series[1].label, std::string("expanded (m=1)"));
    QCOMPARE(series[1].members, (std::vector<std::size_t>{3, 7}));
    QCOMPARE(series[2].label, std::string("drop (position)"));
    QCOMPARE(series[2].members, (std::vector<std::size_t>{8, 4}));
    QCOMPARE(series[3].label, std::string("expanded (m=2)"));
    QCOMPARE(series[4].label, std::string("reroute (local, renorm)"));
    QCOMPARE(series[4].members, (std::vector<std::size_t>{9}));
  }

  void sweepRunsOfOtherDevicesOrGroupsAreOtherLines() {
    const std::vector<StoredRun> runs = {
        stored(1, "drop(gamma=1)", "drop", 1.0, 4),
        stored(2, "drop(gamma=2)", "drop", 2.0, 8),
        stored(3, "drop(gamma=2)", "drop", 2.0, 4),
        stored(4, "drop(gamma=3)", "drop", 3.0, 4, 2),
    };
    const auto series = group_sweep_runs(runs);
    QCOMPARE(series.size(), std::size_t{3});
    QCOMPARE(series[0].label, std::string("drop (4 devices, group 1)"));
    QCOMPARE(series[0].members, (std::vector<std::size_t>{0, 2}));
    QCOMPARE(series[1].label, std::string("drop (8 devices, group 1)"));
    QCOMPARE(series[2].label, std::string("drop (4 devices, group 2)"));
  }

  void sweepChartsPlotSpeedupAndDropRateAgainstGamma() {
    QVERIFY(!has_sweep(compare_));  // one gamma per policy is a comparison, not a sweep
    QVERIFY(has_sweep(all_));
    QCustomPlot plot;
    plot_sweep(plot, all_, SweepMetric::kDropRate);
    // drop of the compare run, expanded, reroute, and the sweep's drop line
    QCOMPARE(plot.graphCount(), 4);
    const QCPGraph* sweep_line = nullptr;
    for (int g = 0; g < plot.graphCount(); ++g) {
      if (plot.graph(g)->data()->size() == 3) sweep_line = plot.graph(g);
    }
    QVERIFY(sweep_line != nullptr);
    std::vector<double> gammas;
    for (auto it = sweep_line->data()->constBegin(); it != sweep_line->data()->constEnd(); ++it) {
      gammas.push_back(it->key);
      const auto& run = *std::find_if(all_.begin(), all_.end(), [&](const viewdata::RunData& r) {
        return r.run.group == all_.back().run.group && r.run.gamma == it->key;
      });
      QCOMPARE(it->value, *run.metric("drop_rate") * 100);
    }
    QCOMPARE(gammas, (std::vector<double>{0.5, 1.0, 2.0}));
    QVERIFY(plot.yAxis->label().contains("%"));
    QVERIFY(plot.xAxis->label().contains("γ"));

    plot_sweep(plot, all_, SweepMetric::kSpeedup);
    QCOMPARE(plot.graphCount(), 5);  // and the baseline's dashed line at 1×
    QCOMPARE(plot.graph(4)->data()->constBegin()->value, 1.0);
    QVERIFY(plot.yAxis->label().contains("×"));
  }

  void exportsPngAtTheAskedPixelSizeAndDpi() {
    QCustomPlot plot;
    plot_tradeoff(plot, compare_, TradeoffCost::kOutputError);
    const QString png = path("tradeoff.png");
    export_chart(plot, png, {1200, 700, 96});
    QImage image(png);
    QCOMPARE(image.size(), QSize(1200, 700));
    export_chart(plot, png, {1200, 700, 192});
    image = QImage(png);
    QCOMPARE(image.size(), QSize(2400, 1400));
    QVERIFY(std::abs(image.dotsPerMeterX() - 192 / 0.0254) < 2);
    export_chart(plot, png, {1200, 700, 300});
    QCOMPARE(QImage(png).size(), QSize(3750, 2188));
    QVERIFY(!QFile::exists(png + ".part"));
  }

  void exportsVectorPdfWithItsAxisLabels() {
    QCustomPlot plot;
    plot_layer_latency(plot, compare_);
    const QString pdf = path("latency.PDF");
    export_chart(plot, pdf, {1200, 700, 96});
    QVERIFY(read_all(pdf).startsWith("%PDF"));
    const QString text = pdf_text(pdf);
    if (text.isNull()) QSKIP("pdftotext (poppler-utils) is not installed");
    QVERIFY2(text.contains("Meanlatency(µs)"), qPrintable(text));
    QVERIFY(text.contains("MoElayer"));
    QVERIFY(text.contains(squeeze(compare_[2].display_name())));
  }

  void failedExportsNameThePathAndKeepTheOldFile() {
    QCustomPlot plot;
    plot_layer_latency(plot, compare_);
    const QString existing = path("keep.png");
    write_all(existing, "old chart");

    const QString txt = path("chart.txt");
    std::string message = expect_error([&] { export_chart(plot, txt); });
    QVERIFY2(message.find(txt.toStdString()) != std::string::npos, message.c_str());
    QVERIFY(message.find(".png or .pdf") != std::string::npos);

    const QString missing = path("no/such/folder/chart.png");
    message = expect_error([&] { export_chart(plot, missing); });
    QVERIFY2(message.find(missing.toStdString()) != std::string::npos, message.c_str());
    QVERIFY(message.find("does not exist") != std::string::npos);

    // A write that fails half-way, as on a full disk.
    message = expect_error([&] { with_a_full_disk([&] { export_chart(plot, existing); }); });
    QVERIFY2(message.find(existing.toStdString()) != std::string::npos, message.c_str());
    QCOMPARE(read_all(existing), QByteArray("old chart"));
    QCOMPARE(QDir(dir_.path()).entryList({"keep.png*"}), QStringList({"keep.png"}));
  }

  void htmlReportIsSelfContainedAndEscaped() {
    const QString html_path = path("report.html");
    write_report(all_, html_path, {"Straggler study", "9.9.9", "2025-01-02T03:04:05Z"});
    const QString html = QString::fromUtf8(read_all(html_path));
    QVERIFY(html.contains("<title>Straggler study</title>"));
    QVERIFY(html.contains("9.9.9"));
    QVERIFY(html.contains("2025-01-02T03:04:05Z"));
    QVERIFY(html.contains(dir_.filePath("session.moescope")));

    // A figure keeps its spread on its line: "1855&nbsp;±&nbsp;455".
    QVERIFY(html.contains(QRegularExpression("[0-9]&nbsp;±&nbsp;[0-9]")));
    QVERIFY(!html.contains(QRegularExpression("[0-9] ± [0-9]")));
    QString spaced = html;
    spaced.replace("&nbsp;", " ");
    // The actual values as the table formats them, with units in the headers.
    const RunsMetricTable table = runs_metric_table(all_);
    for (std::size_t r = 0; r < table.values.size(); ++r) {
      for (std::size_t m = 0; m < table.values[r].size(); ++m) {
        if (!table.values[r][m]) continue;
        const QString text = QString::fromStdString(table.texts[r][m]).toHtmlEscaped();
        QVERIFY2(spaced.contains(text), qPrintable(text));
      }
    }
    QVERIFY(html.contains("Layer latency (µs)"));
    QVERIFY(html.contains("Drop rate (%)"));

    // User text cannot inject markup.
    QVERIFY(!html.contains(QString::fromStdString(kScriptName)));
    QVERIFY(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // Four charts (comparison, layers, and the two sweep figures), each a decodable PNG.
    const QRegularExpression data_uri("<img [^>]*src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");
    int images = 0;
    for (auto it = data_uri.globalMatch(html); it.hasNext(); ++images) {
      const QByteArray png = QByteArray::fromBase64(it.next().captured(1).toLatin1());
      QImage image;
      QVERIFY(image.loadFromData(png, "PNG"));
      QVERIFY(image.width() >= 1200 && image.height() >= 600);
    }
    // trade-off, the headline metrics in two images, layers, speedup and drop rate against gamma,
    // then the heatmap and the timeline of the baseline and of the best policy
    QCOMPARE(images, 10);
    QVERIFY(html.contains("<thead><tr>"));

    // Where the time goes: the baseline and the policy the summary names, each with its devices.
    const auto best = viewdata::best_policy_run(all_);
    QVERIFY(best.has_value());
    const auto baseline = std::find_if(all_.begin(), all_.end(), [&](const auto& r) {
      return r.run.id == all_[*best].run.baseline_run.value_or(-1);
    });
    QVERIFY(baseline != all_.end());
    QVERIFY(html.contains("<h3>Baseline: " +
                          QString::fromStdString(baseline->display_name()).toHtmlEscaped()));
    QVERIFY(html.contains("<h3>Best policy: " +
                          QString::fromStdString(all_[*best].display_name()).toHtmlEscaped()));
    QCOMPARE(html.count("<th align=\"left\">Device</th>"), 2);

    // The first request whole, pretty-printed (one key a line); the others by what differs.
    QVERIFY(html.contains("&quot;policies&quot;: {\n"));
    QVERIFY(html.contains("&quot;layer_subset&quot;: [0, 3, 7]"));
    QCOMPARE(html.count("&quot;layer_subset&quot;"), 1);
    QCOMPARE(html.count("The same request as " +
                        QString::fromStdString(all_.front().display_name()).toHtmlEscaped()),
             3);  // the other runs of the comparison
    QVERIFY(html.contains(
        QRegularExpression("policies\\.gamma: \\[[^\\]]*\\] → \\[0\\.5,1\\.0,2\\.0\\]")));

    // A comparison alone has no sweep figures.
    write_report(compare_, html_path);
    QCOMPARE(QString::fromUtf8(read_all(html_path)).count("data:image/png;base64,"), 8);
  }

  void markdownReportHasTablesAndChartFiles() {
    const QString md_path = path("notes.md");
    write_report(all_, md_path);
    const QString md = QString::fromUtf8(read_all(md_path));
    const QStringList lines = md.split('\n');

    // Tables: header, separator, and a row per run (metrics table, more than five runs) or per
    // layer (each per-layer table).
    std::vector<int> table_rows;
    int rows = 0;
    for (const QString& line : lines) {
      if (line.startsWith('|')) {
        ++rows;
      } else if (rows > 0) {
        table_rows.push_back(rows);
        rows = 0;
      }
    }
    // runs, metrics, the devices of the baseline and the best policy, then one per-layer table
    // per run
    QCOMPARE(table_rows.size(), 4 + all_.size());
    QCOMPARE(table_rows[0], 2 + static_cast<int>(all_.size()));
    QCOMPARE(table_rows[1], 2 + static_cast<int>(all_.size()));
    QCOMPARE(table_rows[2], 2 + 4);  // four devices
    QCOMPARE(table_rows[3], 2 + 4);
    for (std::size_t t = 4; t < table_rows.size(); ++t)
      QCOMPARE(table_rows[t], 2 + 3);  // three layers
    // Every row of a table has the header's column count.
    const QString metrics_header = lines[lines.indexOf(QRegularExpression("^\\| Run \\| Layer.*"))];
    QCOMPARE(metrics_header.count(" | ") + 2, static_cast<int>(headline_metrics().size()) + 2);

    const QRegularExpression image("!\\[[^\\]]*\\]\\(([^)]+)\\)");
    int images = 0;
    for (auto it = image.globalMatch(md); it.hasNext(); ++images) {
      const QString file = QFileInfo(md_path).dir().filePath(it.next().captured(1));
      QVERIFY2(file.contains("notes_files/"), qPrintable(file));
      QVERIFY2(!QImage(file).isNull(), qPrintable(file));
    }
    QCOMPARE(images, 10);
    // The script name is text, not HTML.
    QVERIFY(!md.contains(QString::fromStdString(kScriptName)));
    QVERIFY(md.contains("\\<script\\>alert(1)\\</script\\>"));
  }

  void pdfReportShowsRunsMetricsAndCharts() {
    const QString pdf = path("report.pdf");
    write_report(compare_, pdf);
    QVERIFY(read_all(pdf).startsWith("%PDF"));
    const QString text = pdf_text(pdf);
    if (text.isNull()) QSKIP("pdftotext (poppler-utils) is not installed");
    for (const auto& run : compare_)
      QVERIFY2(text.contains(squeeze(run.display_name())), run.display_name().c_str());
    for (const auto& metric : headline_metrics())
      QVERIFY2(text.contains(squeeze(metric_heading(metric))), std::string(metric.label).c_str());
    QVERIFY(text.contains(squeeze(viewdata::format_value(*compare_[1].metric("drop_rate") * 100))));

    // The charts are in the PDF as images.
    const QString pdfimages = QStandardPaths::findExecutable("pdfimages");
    if (pdfimages.isEmpty()) QSKIP("pdfimages (poppler-utils) is not installed");
    QProcess process;
    process.start(pdfimages, {"-list", pdf});
    QVERIFY(process.waitForFinished(60000));
    const QStringList listed = QString::fromUtf8(process.readAllStandardOutput()).split('\n');
    int charts = 0;
    for (const QString& line : listed) {
      const QStringList fields = line.simplified().split(' ');
      // page num type width height ...: the charts are drawn 2280 pixels wide
      if (fields.size() > 4 && fields[2] == "image" && fields[3].toInt() >= 2000) ++charts;
    }
    // trade-off, the headline metrics in two images, layers; heatmap and timeline of two runs
    QCOMPARE(charts, 8);
  }

  void reportFailuresNameThePathAndKeepTheOldFile() {
    const QString existing = path("kept.html");
    write_all(existing, "old report");
    std::string message = expect_error([&] { write_report(all_, path("report.docx")); });
    QVERIFY2(message.find("report.docx") != std::string::npos, message.c_str());
    QVERIFY(message.find(".html, .htm, .pdf or .md") != std::string::npos);
    message = expect_error([&] { write_report({}, existing); });
    QVERIFY(message.find("no runs") != std::string::npos);
    const QString missing = path("gone/report.pdf");
    message = expect_error([&] { write_report(all_, missing); });
    QVERIFY2(message.find(missing.toStdString()) != std::string::npos, message.c_str());

    message = expect_error([&] { with_a_full_disk([&] { write_report(all_, existing); }); });
    QVERIFY2(message.find(existing.toStdString()) != std::string::npos, message.c_str());
    QCOMPARE(read_all(existing), QByteArray("old report"));
  }
};

QTEST_MAIN(ReportTest)
#include "report_test.moc"
