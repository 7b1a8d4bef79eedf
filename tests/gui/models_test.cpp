// The item models behind the runs tree and the Overview: every one passes
// QAbstractItemModelTester, and the numbers they show are the stored ones.
#include <QAbstractItemModelTester>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

#include "app/gui/models/layer_table_model.h"
#include "app/gui/models/metrics_table_model.h"
#include "app/gui/models/runs_model.h"
#include "app/gui/number_list.h"
#include "app/viewdata/html_escape.h"
#include "app/viewdata/metric_glossary.h"
#include "app/viewdata/metric_text.h"
#include "app/viewdata/run_data.h"
#include "core/base/error.h"
#include "core/run/metric_table.h"
#include "core/session/session_store.h"
#include "tests/gui/gui_test_support.h"

using namespace moescope;

class ModelsTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    a_ = dir_.filePath("a.moescope").toStdString();
    b_ = dir_.filePath("b.moescope").toStdString();
    ids_a_ = gui::testing::record(gui::testing::small_experiment(2, /*compare=*/true), a_);
    ids_b_ = gui::testing::record(gui::testing::small_experiment(1), b_);
  }

  void runs_tree_holds_every_session_and_run() {
    gui::RunsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    SessionStore a(a_, SessionStore::Access::kRead);
    SessionStore b(b_, SessionStore::Access::kRead);
    QCOMPARE(model.set_session(a_, a.runs()), 0);
    QCOMPARE(model.set_session(b_, b.runs()), 1);
    QCOMPARE(model.rowCount(), 2);
    const QModelIndex session_a = model.index(0, 0);
    // Each session's runs were recorded together: one comparison node holds them.
    QCOMPARE(model.rowCount(session_a), 1);
    const QModelIndex group_a = model.index(0, 0, session_a);
    QCOMPARE(group_a.data().toString(),
             QString("Comparison · %1 runs").arg(static_cast<int>(ids_a_.size())));
    QCOMPARE(model.rowCount(group_a), static_cast<int>(ids_a_.size()));
    QVERIFY(!model.run_at(group_a).has_value());
    QCOMPARE(static_cast<int>(model.runs_under(group_a).size()), static_cast<int>(ids_a_.size()));
    QCOMPARE(model.run_count(0), static_cast<int>(ids_a_.size()));
    QCOMPARE(model.run_count(1), static_cast<int>(ids_b_.size()));
    const auto runs = a.runs();
    for (int i = 0; i < model.rowCount(group_a); ++i) {
      const QModelIndex name = model.index(i, gui::RunsModel::kName, group_a);
      QCOMPARE(name.parent(), group_a);
      QCOMPARE(name.data().toString().toStdString(), runs[static_cast<std::size_t>(i)].name);
      QCOMPARE(model.runs_under(name).size(), std::size_t{1});
      // Every column is the stored run's.
      const StoredRun& run = runs[static_cast<std::size_t>(i)];
      const auto cell = [&](int column) { return model.index(i, column, group_a).data(); };
      QCOMPARE(cell(gui::RunsModel::kStatus).toString(), QString("complete"));
      QCOMPARE(cell(gui::RunsModel::kPolicy).toString().toStdString(), run.policy);
      QCOMPARE(cell(gui::RunsModel::kGamma).isValid(), run.gamma.has_value());
      if (run.gamma) QCOMPARE(cell(gui::RunsModel::kGamma).toDouble(), *run.gamma);
      QCOMPARE(cell(gui::RunsModel::kM).isValid(), run.policy_kind == "expanded");
      if (run.policy_kind == "expanded") QCOMPARE(cell(gui::RunsModel::kM).toInt(), 1);
      QCOMPARE(cell(gui::RunsModel::kDevices).toInt(), run.devices);
      QCOMPARE(cell(gui::RunsModel::kBackend).toString().toStdString(), run.backend);
      QCOMPARE(cell(gui::RunsModel::kTiming).toString().toStdString(), run.timing);
      QCOMPARE(cell(gui::RunsModel::kGroup).toString(), QString("group %1").arg(*run.group));
      QVERIFY(cell(gui::RunsModel::kSpeedup).toString().contains("×"));
      const auto ref = model.run_at(name);
      QVERIFY(ref.has_value());
      QCOMPARE(ref->run_id, runs[static_cast<std::size_t>(i)].id);
      QCOMPARE(model.index_of(*ref), name);
    }
    // Deleting the baseline would orphan its policy runs; deleting them all orphans none.
    const std::vector<gui::RunRef> baseline = {{a_, ids_a_.front()}};
    const auto orphans = model.measured_against(baseline);
    QVERIFY(!orphans.empty());
    for (const auto& o : orphans)
      QCOMPARE(*model.stored_run(o)->baseline_run, ids_a_.front());
    std::vector<gui::RunRef> every;
    for (auto id : ids_a_)
      every.push_back({a_, id});
    QVERIFY(model.measured_against(every).empty());
    // Refreshing a session with one run fewer, then removing it, keeps the tester happy.
    auto fewer = a.runs();
    fewer.pop_back();
    model.set_session(a_, fewer);
    QCOMPARE(model.run_count(0), static_cast<int>(ids_a_.size()) - 1);
    // Runs of no group, or alone in theirs, sit under the session itself.
    auto ungrouped = a.runs();
    ungrouped[0].group.reset();
    ungrouped[1].group = 999;
    model.set_session(a_, ungrouped);
    QCOMPARE(model.rowCount(model.index(0, 0)), 3);  // two runs, then the others' node
    QCOMPARE(model.run_at(model.index(0, 0, model.index(0, 0)))->run_id, ids_a_[0]);
    QCOMPARE(model.rowCount(model.index(2, 0, model.index(0, 0))),
             static_cast<int>(ids_a_.size()) - 2);
    QCOMPARE(model.index_of({a_, ids_a_.back()}).parent(), model.index(2, 0, model.index(0, 0)));
    // An index into a later session keeps pointing at it when an earlier one closes.
    const QPersistentModelIndex in_b = model.index_of({b_, ids_b_.back()});
    QVERIFY(in_b.isValid());
    model.remove_session(a_);
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(in_b.isValid());
    QCOMPARE(model.run_at(in_b)->session_path, b_);
    QCOMPARE(model.run_at(in_b)->run_id, ids_b_.back());
    QVERIFY(!model.index_of({a_, ids_a_.front()}).isValid());
  }

  void a_figure_is_rounded_where_its_spread_ends() {
    QCOMPARE(viewdata::format_with_spread(706.73, 52.79), std::string("707 ± 53"));
    QCOMPARE(viewdata::format_with_spread(1.2021, 0.09777), std::string("1.202 ± 0.098"));
    QCOMPARE(viewdata::format_with_spread(3.14159, 0.5), std::string("3.14 ± 0.50"));
    QCOMPARE(viewdata::format_with_spread(12345.6, 1234.5), std::string("12346 ± 1234"));
    // No usable spread: the figure alone, as everywhere else.
    QCOMPARE(viewdata::format_with_spread(1.5, 0.0), viewdata::format_value(1.5));
    QCOMPARE(viewdata::format_with_spread(1.5, std::nan("")), viewdata::format_value(1.5));
    QCOMPARE(viewdata::format_with_spread(std::nan(""), 0.1), std::string("-"));
    QCOMPARE(viewdata::format_with_spread(2.0, 1e-12), std::string("2.000000 ± 0.000000"));
  }

  void metrics_table_shows_the_stored_metrics() {
    SessionStore a(a_, SessionStore::Access::kRead);
    const auto run = viewdata::load_run_data(a, ids_a_.back());
    gui::MetricsTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_run(&run);
    const auto headline = headline_metrics();
    QCOMPARE(model.rowCount(), static_cast<int>(headline.size()));
    for (int row = 0; row < model.rowCount(); ++row) {
      const auto& metric = headline[static_cast<std::size_t>(row)];
      const auto stored = run.metric(metric.key);
      QVERIFY2(stored.has_value(), metric.key.data());
      QCOMPARE(model.index(row, gui::MetricsTableModel::kMean).data(Qt::UserRole).toDouble(),
               *stored * metric.scale);
      // The shown text: the number, and its spread when it has one.
      const QString shown = model.index(row, gui::MetricsTableModel::kMean).data().toString();
      QCOMPARE(shown, QString::fromStdString(viewdata::format_stored(metric, run)));
      const MetricRow* stored_row = run.metric_row(metric.key);
      if (metric.key == "latency_ns") {
        // A timed figure comes with half its 95% interval, scaled like the figure.
        QVERIFY(stored_row->low && stored_row->high);
        QCOMPARE(shown, QString::fromStdString(viewdata::format_with_spread(
                            stored_row->mean * metric.scale,
                            (*stored_row->high - *stored_row->low) / 2 * metric.scale)));
        QVERIFY(shown.contains(" ± "));
        const QModelIndex spread = model.index(row, gui::MetricsTableModel::kSpread);
        QVERIFY(spread.data().toString().startsWith("95%: "));
        QVERIFY(spread.data(Qt::ToolTipRole).toString().contains("95% interval"));
      }
      if (metric.spread == Spread::kExact) {
        QCOMPARE(shown, gui::format_metric(*stored * metric.scale));  // exact: no spread
        QVERIFY(model.index(row, gui::MetricsTableModel::kSpread)
                    .data()
                    .toString()
                    .startsWith("exact"));
      }
    }
    model.set_run(nullptr);
    QCOMPARE(model.rowCount(), 0);
  }

  // The glossary and the tooltips come from the one metric table: every metric is explained.
  // A sweep (a policy at several settings) is named as one.
  void a_sweep_node_is_named_a_sweep() {
    const std::string path = dir_.filePath("sweep.moescope").toStdString();
    auto experiment = gui::testing::small_experiment(1);
    experiment.policies.gammas = {1.0, 2.0};
    gui::testing::record(experiment, path);
    SessionStore store(path, SessionStore::Access::kRead);
    gui::RunsModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_session(path, store.runs());
    QCOMPARE(model.index(0, 0, model.index(0, 0)).data().toString(), QString("Sweep · 3 runs"));
  }

  void glossary_explains_every_metric() {
    const QString html = QString::fromStdString(viewdata::glossary_html());
    for (const MetricInfo& m : metric_table()) {
      const QString label =
          QString::fromUtf8(m.label.data(), static_cast<qsizetype>(m.label.size()));
      const QString description =
          QString::fromUtf8(m.description.data(), static_cast<qsizetype>(m.description.size()));
      QVERIFY2(!description.isEmpty(), qPrintable(label));
      // Escaped as the glossary escapes (apostrophes too, which Qt's toHtmlEscaped leaves).
      const auto escaped = [](std::string_view text) {
        return QString::fromStdString(viewdata::html_escape(text));
      };
      QVERIFY2(html.contains("<b>" + escaped(m.label) + "</b>"), qPrintable(label));
      QVERIFY2(html.contains(escaped(m.description)), qPrintable(description));
    }
    QCOMPARE(viewdata::better_text(metric_info("latency_ns")), std::string("lower is better"));
    QCOMPARE(viewdata::better_text(metric_info("gate_mass_kept")), std::string("higher is better"));
    QVERIFY(html.contains("<b>Straggler</b>"));

    gui::LayerTableModel layers;
    for (int c = 0; c < layers.columnCount(); ++c) {
      const QString header = layers.headerData(c, Qt::Horizontal).toString();
      const QString tip = layers.headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString();
      QVERIFY2(c == gui::LayerTableModel::kLayer || !tip.isEmpty(), qPrintable(header));
    }
    QCOMPARE(layers.headerData(gui::LayerTableModel::kDropRate, Qt::Horizontal, Qt::ToolTipRole)
                 .toString()
                 .toStdString(),
             std::string(metric_info("drop_rate").description));
  }

  void layer_table_averages_the_steps() {
    SessionStore a(a_, SessionStore::Access::kRead);
    const auto run = viewdata::load_run_data(a, ids_a_.back());
    gui::LayerTableModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.set_run(&run);
    QCOMPARE(model.rowCount(), 16);  // OLMoE has 16 layers
    for (int row = 0; row < model.rowCount(); ++row) {
      const int layer = model.index(row, gui::LayerTableModel::kLayer).data().toInt();
      double latency = 0;
      int n = 0;
      for (const auto& s : run.layers) {
        if (s.layer != layer) continue;
        latency += static_cast<double>(s.latency_ns) / 1e3;
        ++n;
      }
      QCOMPARE(n, 2);
      QCOMPARE(model.index(row, gui::LayerTableModel::kLatency).data(Qt::UserRole).toDouble(),
               latency / n);
    }
  }

  void placement_text_is_checked() {
    const auto parse = [](const char* text) {
      return gui::parse_number_list(text, "placement", "0,0,1,1");
    };
    QCOMPARE(parse(" 0, 1 ,1,0 "), (std::vector<int>{0, 1, 1, 0}));
    QVERIFY(parse("   ").empty());
    QVERIFY_THROWS_EXCEPTION(Error, parse("0,,1"));
    QVERIFY_THROWS_EXCEPTION(Error, parse("0,x"));
    QVERIFY_THROWS_EXCEPTION(Error, parse("-1"));
    QVERIFY_THROWS_EXCEPTION(Error, parse("99999999999999"));
    QCOMPARE(gui::format_number_list({0, 5, 11}), std::string("0,5,11"));
  }

 private:
  QTemporaryDir dir_;
  std::string a_, b_;
  std::vector<std::int64_t> ids_a_, ids_b_;
};

QTEST_MAIN(ModelsTest)
#include "models_test.moc"
