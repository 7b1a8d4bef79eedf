// The main window as a user drives it: start on an empty and on a demo session, runs started
// from the panel, Cancel, rename and delete, a session another process writes to, a corrupt
// session, and exports through the window.
#include <qcustomplot.h>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTreeView>
#include <QtTest>

#include "app/gui/main_window.h"
#include "app/gui/models/metrics_table_model.h"
#include "app/gui/models/runs_model.h"
#include "app/gui/run_controller.h"
#include "app/gui/run_setup_panel.h"
#include "app/gui/views/compare_view.h"
#include "app/gui/views/heatmap_view.h"
#include "app/gui/views/overview_view.h"
#include "app/gui/views/timeline_chart.h"
#include "app/gui/views/timeline_view.h"
#include "app/viewdata/run_data.h"
#include "core/base/error.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"
#include "core/run/metric_table.h"
#include "core/session/session_store.h"
#include "tests/gui/gui_test_support.h"

using namespace moescope;

namespace {

bool wait_for_run(gui::MainWindow& window, int timeout_ms = 120000) {
  QSignalSpy ended(&window, &gui::MainWindow::run_ended);
  return !window.controller()->busy() || ended.wait(timeout_ms);
}

// Selected runs load off the GUI thread: until the views show them, serve events.
bool wait_until_shown(const gui::MainWindow& window, int timeout_ms = 60000) {
  QElapsedTimer clock;
  clock.start();
  while (window.loading() && clock.elapsed() < timeout_ms)
    QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
  return !window.loading();
}

std::vector<StoredRun> stored_runs(const std::string& path) {
  SessionStore store(path, SessionStore::Access::kRead);
  return store.runs();
}

}  // namespace

class MainWindowTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    gui::testing::isolate_user_dirs(dir_.path().toStdString());
    QCoreApplication::setOrganizationName("MoEScopeTest");
    QCoreApplication::setApplicationName("moescope-test");
  }

  void starts_on_an_empty_session() {
    const std::string path = dir_.filePath("empty.moescope").toStdString();
    gui::MainWindow window({path, /*demo_when_empty=*/false});
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.runs_model()->session_count(), 1);
    QCOMPARE(window.runs_model()->run_count(0), 0);
    QVERIFY(window.shown_run() == nullptr);
    QVERIFY(window.overview()->header_text().contains("No run selected"));
    QVERIFY(!window.controller()->busy());
  }

  void demo_run_fills_the_views() {
    const std::string path = dir_.filePath("demo.moescope").toStdString();
    gui::MainWindow window({path, /*demo_when_empty=*/true});
    window.show();
    QVERIFY(window.controller()->busy());
    QSignalSpy stored(&window, &gui::MainWindow::run_stored);
    QVERIFY(stored.wait(120000));
    const auto runs = stored_runs(path);
    QCOMPARE(runs.size(), std::size_t{4});  // baseline, drop, expanded, reroute
    for (const auto& r : runs)
      QCOMPARE(r.status, std::string("complete"));
    QCOMPARE(window.runs_model()->run_count(0), 4);
    QVERIFY(wait_until_shown(window));
    QVERIFY(window.shown_run() != nullptr);
    QCOMPARE(window.selected_runs().size(), std::size_t{4});
    QCOMPARE(window.compare()->runs().size(), std::size_t{4});
    // The overview shows the stored latency of the shown run.
    const auto* shown = window.shown_run();
    const auto latency = shown->metric("latency_ns");
    QVERIFY(latency.has_value());
    QCOMPARE(window.overview()->metrics_model()->index(0, 1).data(Qt::UserRole).toDouble(),
             *latency * 1e-3);
    QVERIFY(!window.heatmap()->cube().empty());
  }

  void run_from_the_panel_appears() {
    const std::string path = dir_.filePath("panel.moescope").toStdString();
    gui::MainWindow window({path, false});
    window.show();
    window.setup_panel()->set_experiment(gui::testing::small_experiment());
    QSignalSpy stored(&window, &gui::MainWindow::run_stored);
    QTest::mouseClick(window.setup_panel()->run_button(), Qt::LeftButton);
    QVERIFY(window.controller()->busy());
    QVERIFY(!window.setup_panel()->run_button()->isEnabled());
    QVERIFY(stored.wait(120000));
    const auto ids = stored.at(0).at(0).value<QList<qint64>>();
    QCOMPARE(ids.size(), 2);  // baseline and drop
    const auto runs = stored_runs(path);
    QCOMPARE(runs.size(), std::size_t{2});
    QCOMPARE(runs.back().policy_kind, std::string("drop"));
    QCOMPARE(window.runs_model()->run_count(0), 2);
    QVERIFY(wait_until_shown(window));
    QCOMPARE(window.shown_run()->run.id, static_cast<std::int64_t>(ids.back()));
    QVERIFY(window.setup_panel()->target_session_text().contains("panel.moescope"));
    // The worker thread ends just after it reports; then the panel takes input again, and its
    // idle progress bar shows no stale percentage.
    QTRY_VERIFY(window.setup_panel()->run_button()->isEnabled());
    QVERIFY(!window.setup_panel()->findChild<QProgressBar*>()->isTextVisible());
  }

  void cancel_leaves_the_run_incomplete() {
    const std::string path = dir_.filePath("cancel.moescope").toStdString();
    gui::MainWindow window({path, false});
    window.show();  // laid out, so that the Cancel button is where a click lands
    auto experiment = gui::testing::small_experiment(/*steps=*/200);
    experiment.routing.tokens = 2048;
    window.setup_panel()->set_experiment(experiment);
    QSignalSpy progress(window.controller(), &gui::RunController::progress);
    QVERIFY(window.start_run(false));
    QVERIFY(progress.wait(60000));
    QTest::mouseClick(window.setup_panel()->cancel_button(), Qt::LeftButton);
    QVERIFY(wait_for_run(window));
    const auto runs = stored_runs(path);
    QVERIFY(!runs.empty());
    QCOMPARE(runs.front().status, std::string("incomplete"));
    // The tree shows the incomplete run and the window still works.
    QCOMPARE(window.runs_model()->run_count(0), static_cast<int>(runs.size()));
    QTRY_VERIFY(window.setup_panel()->run_button()->isEnabled());
  }

  void run_again_from_the_tree_reproduces_the_run() {
    const std::string path = dir_.filePath("again.moescope").toStdString();
    const auto ids =
        gui::testing::record(gui::testing::small_experiment(/*steps=*/1, /*compare=*/true), path);
    gui::MainWindow window({path, false});
    const gui::RunRef expanded{path, ids[2]};
    window.select_runs({expanded});
    // The tree's context menu offers it, beside rename and delete.
    QAction* again = nullptr;
    for (QAction* a : window.findChild<QTreeView*>()->actions()) {
      if (a->text().remove('&') == "Run again") again = a;
    }
    QVERIFY(again != nullptr);
    QSignalSpy stored(&window, &gui::MainWindow::run_stored);
    again->trigger();
    QVERIFY(stored.wait(120000));
    const auto fresh = stored.at(0).at(0).value<QList<qint64>>();
    QCOMPARE(fresh.size(), 2);  // a fresh baseline and the run again
    SessionStore store(path, SessionStore::Access::kRead);
    QCOMPARE(store.run(fresh.back()).policy, store.run(ids[2]).policy);
    const auto before = store.expert_loads(ids[2]);
    const auto after = store.expert_loads(fresh.back());
    QCOMPARE(after.size(), before.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
      QCOMPARE(after[i].kept, before[i].kept);
      QCOMPARE(after[i].added, before[i].added);
    }
  }

  void the_panel_says_what_a_scale_rounded() {
    gui::MainWindow window({dir_.filePath("scale.moescope").toStdString(), false});
    auto experiment = gui::testing::small_experiment();
    experiment.model.preset = "mixtral-8x7b";
    experiment.model.scale = 3;
    window.setup_panel()->set_experiment(experiment);
    QCOMPARE(window.setup_panel()->scale_note_text(),
             QString("scale 3 does not divide the model's sizes: hidden 4096 ÷ 3 rounded down to "
                     "1365, expert_ffn 14336 ÷ 3 rounded down to 4778"));
    experiment.model.scale = 16;
    window.setup_panel()->set_experiment(experiment);
    QVERIFY(window.setup_panel()->scale_note_text().isEmpty());
  }

  void bad_panel_input_shows_an_error() {
    const std::string path = dir_.filePath("bad.moescope").toStdString();
    gui::MainWindow window({path, false});
    auto experiment = gui::testing::small_experiment();
    experiment.devices = {500};  // more devices than OLMoE has experts
    window.setup_panel()->set_experiment(experiment);
    QVERIFY(window.start_run(false));
    QVERIFY(wait_for_run(window));
    QVERIFY2(window.last_error().contains("devices"), qPrintable(window.last_error()));
    QTRY_VERIFY(!window.controller()->busy());  // the thread ends just after it reports
  }

  void session_written_by_another_process_refreshes() {
    const std::string path = dir_.filePath("shared.moescope").toStdString();
    gui::testing::record(gui::testing::small_experiment(1), path);
    gui::MainWindow window({path, false});
    QCOMPARE(window.runs_model()->run_count(0), 2);
    gui::testing::record(gui::testing::small_experiment(1), path);
    // File times have a granularity; the watcher compares them, so wait for it to tick.
    QTRY_COMPARE_WITH_TIMEOUT(window.runs_model()->run_count(0), 4, 10000);
  }

  void corrupt_session_shows_an_error_and_the_window_works() {
    const QString bad = dir_.filePath("corrupt.moescope");
    {
      QFile f(bad);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("SQLite format 3\0garbage garbage garbage", 40);
    }
    const QByteArray before = [&] {
      QFile f(bad);
      f.open(QIODevice::ReadOnly);
      return f.readAll();
    }();
    const std::string good = dir_.filePath("good.moescope").toStdString();
    gui::testing::record(gui::testing::small_experiment(1), good);
    gui::MainWindow window({good, false});
    QVERIFY(!window.open_session(bad));
    QVERIFY(!window.last_error().isEmpty());
    QVERIFY2(window.last_error().contains("corrupt.moescope"), qPrintable(window.last_error()));
    QCOMPARE(window.runs_model()->session_count(), 1);
    QFile f(bad);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.readAll(), before);  // left exactly as it was
    // A text file is no session either.
    const QString text = dir_.filePath("notes.txt");
    QFile t(text);
    QVERIFY(t.open(QIODevice::WriteOnly));
    t.write("hello\n");
    t.close();
    QVERIFY(!window.open_session(text));
    // And the window still shows runs.
    const auto runs = stored_runs(good);
    window.select_runs({{good, runs.back().id}});
    QVERIFY(wait_until_shown(window));
    QVERIFY(window.shown_run() != nullptr);
    QCOMPARE(window.shown_run()->run.id, runs.back().id);
  }

  void a_session_that_goes_bad_is_reported_once() {
    const std::string path = dir_.filePath("vanishing.moescope").toStdString();
    gui::testing::record(gui::testing::small_experiment(1), path);
    gui::MainWindow window({path, false});
    QVERIFY(wait_until_shown(window));  // the file goes bad after the window has read it
    QVERIFY(window.last_error().isEmpty());
    {
      QFile f(QString::fromStdString(path));
      QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
      f.write("this is no longer a session");
    }
    QFile::remove(QString::fromStdString(path) + "-wal");
    QTRY_VERIFY_WITH_TIMEOUT(!window.last_error().isEmpty(), 10000);
    const int boxes = window.findChildren<QMessageBox*>().size();
    QCOMPARE(boxes, 1);
    QTest::qWait(2500);  // two more watcher ticks: no new dialog
    QCOMPARE(window.findChildren<QMessageBox*>().size(), boxes);
    // The runs stay as last read, and closing the session removes them.
    QCOMPARE(window.runs_model()->run_count(0), 2);
    window.close_session(path);
    QCOMPARE(window.runs_model()->session_count(), 0);
  }

  void rename_and_delete_runs() {
    const std::string path = dir_.filePath("edit.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(1), path);
    gui::MainWindow window({path, false});
    window.rename_run({path, ids.back()}, "my <b>run</b>");
    QCOMPARE(stored_runs(path).back().name, std::string("my <b>run</b>"));
    const QModelIndex index = window.runs_model()->index_of({path, ids.back()});
    QCOMPARE(index.data().toString(), QString("my <b>run</b>"));
    window.delete_runs({{path, ids.back()}});
    QCOMPARE(stored_runs(path).size(), std::size_t{1});
    QCOMPARE(window.runs_model()->run_count(0), 1);
  }

  void exports_through_the_window() {
    const std::string path = dir_.filePath("export.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(1), path);
    gui::MainWindow window({path, false});
    window.show();
    window.select_runs({{path, ids.front()}, {path, ids.back()}});
    QCOMPARE(window.selected_runs().size(), std::size_t{2});
    QVERIFY(wait_until_shown(window));

    window.tabs()->setCurrentWidget(window.heatmap());
    const QString png = dir_.filePath("heatmap.png");
    window.export_current_chart(png, 900, 500, 192);
    QImage image(png);
    QCOMPARE(image.size(), QSize(1800, 1000));

    window.tabs()->setCurrentWidget(window.compare());
    const QString pdf = dir_.filePath("compare.pdf");
    window.export_current_chart(pdf, 900, 500, 96);
    QFile f(pdf);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QVERIFY(f.read(5) == "%PDF-");

    const QString html = dir_.filePath("report.html");
    window.export_report(html);
    QFile h(html);
    QVERIFY(h.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(h.readAll());
    QVERIFY(text.contains("data:image/png;base64,"));
    QVERIFY(text.contains(QString::fromStdString(stored_runs(path).back().name).toHtmlEscaped()));

    const QString trace = dir_.filePath("run.trace.json");
    window.export_data(trace, "chrome-trace");
    QFile tr(trace);
    QVERIFY(tr.open(QIODevice::ReadOnly));
    QVERIFY(tr.readAll().contains("traceEvents"));

    window.tabs()->setCurrentWidget(window.overview());
    QVERIFY_THROWS_EXCEPTION(Error, window.export_current_chart(png, 900, 500, 96));
    QCOMPARE(QImage(png).size(), QSize(1800, 1000));  // the earlier export is untouched
  }

  void dropping_a_session_file_opens_it() {
    const std::string first = dir_.filePath("first.moescope").toStdString();
    const std::string dropped = dir_.filePath("dropped.moescope").toStdString();
    gui::testing::record(gui::testing::small_experiment(1), dropped);
    gui::MainWindow window({first, false});
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(dropped))});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&window, &drop);
    QCOMPARE(window.runs_model()->session_count(), 2);
    const auto row = window.runs_model()->session_row(dropped);
    QVERIFY(row.has_value());
    QCOMPARE(window.runs_model()->run_count(*row), 2);
  }

  // The runs recorded together sit under one node; selecting it compares them all.
  void selecting_a_comparison_node_compares_its_runs() {
    const std::string path = dir_.filePath("node.moescope").toStdString();
    const auto ids =
        gui::testing::record(gui::testing::small_experiment(1, /*compare=*/true), path);
    gui::MainWindow window({path, false});
    window.show();
    auto* tree = window.findChild<QTreeView*>();
    const QModelIndex node = window.runs_model()->index(0, 0, window.runs_model()->index(0, 0));
    QVERIFY(node.data().toString().startsWith("Comparison"));
    QVERIFY(tree->isExpanded(node));  // its runs show without a click
    tree->selectionModel()->select(node,
                                   QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    QVERIFY(wait_until_shown(window));
    QCOMPARE(window.compare()->runs().size(), ids.size());
  }

  void compare_keeps_runs_without_results_out_of_the_charts() {
    const std::string path = dir_.filePath("compare.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(1), path);
    std::int64_t unfinished = 0;
    {
      SessionStore store(path, SessionStore::Access::kWrite);
      RunHeader header;
      header.name = "killed mid-run";
      header.model = "olmoe-1b-7b";
      unfinished = store.begin_run(header);
    }
    gui::MainWindow window({path, false});
    window.select_runs({{path, ids.front()}, {path, ids.back()}, {path, unfinished}});
    QVERIFY(wait_until_shown(window));
    auto* compare = window.compare();
    QCOMPARE(compare->runs().size(), std::size_t{3});
    QCOMPARE(compare->values_table()->rowCount(), 3);
    // A chart per headline metric, each with a bar per complete run in the metric's own unit.
    QCOMPARE(compare->metric_plots().size(), headline_metrics().size());
    for (QCustomPlot* plot : compare->metric_plots()) {
      int bars = 0;
      for (int i = 0; i < plot->plottableCount(); ++i)
        bars += qobject_cast<QCPBars*>(plot->plottable(i)) != nullptr;
      QCOMPARE(bars, 2);
    }
    QCOMPARE(compare->layers_plot()->graphCount(), 2);
    // The table holds the stored numbers: the latency column of the baseline.
    SessionStore store(path, SessionStore::Access::kRead);
    const auto baseline = viewdata::load_run_data(store, ids.front());
    QCOMPARE(compare->values_table()->item(0, 1)->data(Qt::UserRole).toDouble(),
             *baseline.metric("latency_ns") * 1e-3);
    // Sorted by latency, each row keeps its run's name beside its values.
    QTableWidget* table = compare->values_table();
    table->sortItems(1, Qt::DescendingOrder);
    for (int row = 0; row < table->rowCount(); ++row) {
      const QString name = table->item(row, 0)->text();
      const QVariant latency = table->item(row, 1)->data(Qt::UserRole);
      for (const auto id : {ids.front(), ids.back()}) {
        const auto run = viewdata::load_run_data(store, id);
        if (name.toStdString() == run.display_name()) {
          QCOMPARE(latency.toDouble(), *run.metric("latency_ns") * 1e-3);
        }
      }
    }

    // Hovering a bar names its run and its stored figure; a metric that is 0 for every run
    // says so instead of showing an empty chart; Export chart takes the chart clicked last.
    window.resize(1400, 900);
    window.show();
    window.tabs()->setCurrentWidget(compare);
    compare->findChild<QTabWidget*>()->setCurrentIndex(1);  // the headline metrics
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCustomPlot* latency_plot = compare->metric_plots().front();
    latency_plot->replot();
    const QPoint bar(
        static_cast<int>(latency_plot->xAxis->coordToPixel(0)),
        static_cast<int>(latency_plot->yAxis->coordToPixel(
            latency_plot->yAxis->range().lower + latency_plot->yAxis->range().size() / 100)));
    const QString tip = compare->metric_details_at(0, bar);
    QVERIFY2(tip.startsWith(QString::fromStdString(baseline.display_name()) + "\nLayer latency: "),
             qPrintable(tip));
    QVERIFY(compare->metric_details_at(0, QPoint(-5, -5)).isEmpty());
    const auto metrics = headline_metrics();
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      bool all_zero = true;
      for (const auto id : {ids.front(), ids.back()}) {
        const auto value = viewdata::load_run_data(store, id).metric(metrics[m].key);
        all_zero = all_zero && value && *value == 0;
      }
      bool says_zero = false;
      QCustomPlot* plot = compare->metric_plots()[m];
      for (int i = 0; i < plot->itemCount(); ++i) {
        auto* text = qobject_cast<QCPItemText*>(plot->item(i));
        says_zero = says_zero || (text != nullptr && text->text().endsWith("for every run"));
      }
      QCOMPARE(says_zero, all_zero);
    }
    QCustomPlot* third = compare->metric_plots()[2];
    QTest::mouseClick(third, Qt::LeftButton, Qt::NoModifier, third->rect().center());
    QCOMPARE(compare->current_plot(), third);
  }

  // The trade-off chart is Compare's first page; a click on a run's point shows that run in
  // the single-run views and keeps the comparison.
  void clicking_a_tradeoff_point_shows_its_run() {
    const std::string path = dir_.filePath("tradeoff.moescope").toStdString();
    const auto ids =
        gui::testing::record(gui::testing::small_experiment(/*steps=*/1, /*compare=*/true), path);
    gui::MainWindow window({path, false});
    window.resize(1366, 768);
    window.show();
    std::vector<gui::RunRef> all;
    for (auto id : ids)
      all.push_back({path, id});
    window.select_runs(all);
    QVERIFY(wait_until_shown(window));
    auto* compare = window.compare();
    QTRY_COMPARE(compare->runs().size(), ids.size());
    window.tabs()->setCurrentWidget(compare);
    QCOMPARE(compare->current_plot(), compare->tradeoff_plot());
    QTRY_VERIFY(compare->tradeoff_plot()->width() > 300);
    compare->tradeoff_plot()->replot();
    QCOMPARE(compare->tradeoff_points().size(), ids.size());
    const auto& first = compare->tradeoff_points().front();  // the baseline, at no cost
    QCOMPARE(first.cost, 0.0);
    const auto& last = compare->tradeoff_points().back();
    QSignalSpy clicked(compare, &gui::CompareView::run_clicked);
    QCustomPlot* plot = compare->tradeoff_plot();
    const QPoint at(static_cast<int>(plot->xAxis->coordToPixel(last.cost)),
                    static_cast<int>(plot->yAxis->coordToPixel(last.speedup)));
    QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, at);
    QCOMPARE(clicked.size(), 1);
    QCOMPARE(clicked.front().at(1).value<std::int64_t>(), ids[last.run]);
    QTRY_VERIFY(window.shown_run() != nullptr && window.shown_run()->run.id == ids[last.run]);
    QCOMPARE(window.selected_runs().size(), ids.size());  // the comparison stays
    // Another cost: the same runs, the points move.
    compare->tradeoff_cost()->setCurrentIndex(1);
    QCOMPARE(compare->tradeoff_points().size(), ids.size());
  }

  // The Overview's Devices tab: a row per device from the shown run's timeline; a click on a
  // device shows its first straggling layer in the timeline.
  void overview_devices_lead_to_the_timeline() {
    const std::string path = dir_.filePath("devices.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(/*steps=*/1), path);
    gui::MainWindow window({path, false});
    window.show();
    window.select_runs({{path, ids.front()}});
    QVERIFY(wait_until_shown(window));
    QTableWidget* table = window.overview()->devices_table();
    const auto& rows = window.overview()->device_rows();
    QVERIFY(!rows.empty());
    QCOMPARE(table->rowCount(), static_cast<int>(rows.size()));
    QCOMPARE(table->rowCount(), window.shown_run()->run.devices);
    double stragglers = 0;
    for (int r = 0; r < table->rowCount(); ++r) {
      const auto& row = rows[static_cast<std::size_t>(r)];
      QCOMPARE(table->item(r, 1)->data(Qt::UserRole).toDouble(), row.busy_ns / 1e3);
      QCOMPARE(table->item(r, 2)->data(Qt::UserRole).toDouble(), row.straggler_share * 100);
      stragglers += row.straggler_share;
    }
    QVERIFY(std::abs(stragglers - 1.0) < 1e-9);  // every layer has one straggler
    int straggler = 0;
    while (rows[static_cast<std::size_t>(straggler)].first_straggler_slot < 0)
      ++straggler;
    QSignalSpy activated(window.overview(), &gui::OverviewView::device_activated);
    emit table->cellClicked(straggler, 0);
    QCOMPARE(activated.size(), 1);
    QCOMPARE(window.tabs()->currentIndex(), 2);  // the straggler timeline
  }

  // A policy run shown: the timeline offers the session's other runs to compare with, picks
  // the run's baseline, loads it under the shown run and marks every layer.
  void timeline_compares_a_run_with_its_baseline() {
    const std::string path = dir_.filePath("ab.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(/*steps=*/1), path);
    QCOMPARE(ids.size(), std::size_t{2});
    gui::MainWindow window({path, false});
    window.show();
    window.tabs()->setCurrentWidget(window.timeline());
    window.select_runs({{path, ids.back()}});
    QVERIFY(wait_until_shown(window));
    QCOMPARE(window.timeline()->compared_run_id().value_or(-1), ids.front());
    QVERIFY(wait_until_shown(window));  // the compared run loads on its own line
    QVERIFY(window.timeline()->compared_chart()->isVisible());
    QVERIFY(window.timeline()->compared_chart()->has_run());
    const auto& notes = window.timeline()->timeline()->layer_notes();
    QCOMPARE(notes.size(), window.timeline()->timeline()->data().layers().size());
    for (const QString& note : notes)
      QVERIFY2(
          note.startsWith("saves") || note.startsWith("costs") || note == "no significant change",
          qPrintable(note));
    // Esc in the timeline clears its selected window: Run > Cancel takes Esc only during a run.
    QVERIFY(QTest::qWaitForWindowActive(&window));
    auto* chart = window.timeline()->chart();
    chart->select_area(chart->timeline()->data().start_ns(), chart->timeline()->data().end_ns());
    QVERIFY(chart->area().has_value());
    window.timeline()->setFocus();
    QTest::keyClick(window.timeline(), Qt::Key_Escape);
    QVERIFY(!chart->area().has_value());
    // The baseline itself shown: it is not offered against itself; the policy run is.
    window.select_runs({{path, ids.front()}});
    QVERIFY(wait_until_shown(window));
    QVERIFY(!window.timeline()->compared_run_id().has_value() ||
            *window.timeline()->compared_run_id() != ids.front());
  }

  void help_opens_the_metric_glossary() {
    gui::MainWindow window({dir_.filePath("glossary.moescope").toStdString(), false});
    window.show();
    QAction* action = nullptr;
    for (QAction* a : window.findChildren<QAction*>()) {
      if (a->text() == "Metric &glossary") action = a;
    }
    QVERIFY(action != nullptr);
    QCOMPARE(action->shortcut(), QKeySequence(QKeySequence::HelpContents));
    action->trigger();
    auto* dialog = window.findChild<QDialog*>("glossary");
    QVERIFY(dialog != nullptr && dialog->isVisible());
    auto* text = dialog->findChild<QTextBrowser*>();
    QVERIFY(text != nullptr);
    QVERIFY(text->toPlainText().contains("Straggler margin"));
    action->trigger();  // again: the same dialog, not a second one
    QCOMPARE(window.findChildren<QDialog*>("glossary").size(), 1);
  }

  // Load setup: the panel then describes the run's own experiment (its policy and gamma).
  void load_setup_puts_the_runs_experiment_in_the_panel() {
    const std::string path = dir_.filePath("setup.moescope").toStdString();
    auto e = gui::testing::small_experiment(/*steps=*/1);
    e.policies.gammas = {1.75};
    const auto ids = gui::testing::record(e, path);
    gui::MainWindow window({path, false});
    QVERIFY(window.load_setup({path, ids.back()}));
    const Experiment loaded = window.setup_panel()->experiment(false);
    QCOMPARE(loaded.policies.gammas, std::vector<double>{1.75});
    QCOMPARE(loaded.policies.kinds, std::vector<PolicyKind>{PolicyKind::kDrop});
    QCOMPARE(loaded.model.scale, e.model.scale);
    QCOMPARE(loaded.routing.tokens, e.routing.tokens);
  }

  void a_relative_session_path_shows_its_last_run() {
    const std::string path = dir_.filePath("relative.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(1), path);
    const QString cwd = QDir::currentPath();
    QVERIFY(QDir::setCurrent(dir_.path()));
    gui::MainWindow window({"relative.moescope", false});
    QDir::setCurrent(cwd);
    QVERIFY(wait_until_shown(window));
    QVERIFY(window.shown_run() != nullptr);
    QCOMPARE(window.shown_run()->run.id, ids.back());
  }

  void run_setup_is_remembered() {
    const std::string path = dir_.filePath("settings.moescope").toStdString();
    auto experiment = gui::testing::small_experiment();
    experiment.model.preset = "mixtral-8x7b";
    experiment.model.layers = {1, 30};
    experiment.routing.tokens = 777;
    experiment.policies.kinds = {PolicyKind::kExpanded};
    experiment.policies.gammas = {1.75};
    experiment.policies.ms = {3};
    experiment.policies.capacity_scope = CapacityScope::kSource;
    experiment.devices = {4};
    experiment.placement = {0, 0, 1, 1, 2, 2, 3, 3};
    {
      gui::MainWindow window({path, false});
      window.setup_panel()->set_experiment(experiment);
      window.close();
    }
    gui::MainWindow window({path, false});
    QCOMPARE(window.setup_panel()->experiment(false), experiment);
  }

  void recent_sessions_are_remembered() {
    const std::string path = dir_.filePath("recent.moescope").toStdString();
    { gui::MainWindow window({path, false}); }
    const QStringList recent = QSettings().value("sessions/recent").toStringList();
    QVERIFY(!recent.isEmpty());
    QCOMPARE(recent.front(), QString::fromStdString(path));
  }

  // The status bar says whether a GPU can be used, not only which backends were built. Last:
  // it registers a GPU backend that cannot start, for the rest of this process.
  void status_bar_names_the_gpu_state() {
    const std::string path = dir_.filePath("status.moescope").toStdString();
    gui::MainWindow window({path, /*demo_when_empty=*/false});
    QVERIFY(window.statusBar()->currentMessage().contains("no CUDA backend in this build"));
    register_backend("cuda", [](const std::string&) -> std::unique_ptr<Backend> {
      throw Error("no CUDA GPU found");
    });
    window.set_gpu_status("CUDA: no CUDA GPU found");
    QVERIFY(window.statusBar()->currentMessage().contains("CUDA: no CUDA GPU found"));
    QVERIFY(!window.statusBar()->currentMessage().contains("no CUDA backend in this build"));
  }

 private:
  QTemporaryDir dir_;
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
