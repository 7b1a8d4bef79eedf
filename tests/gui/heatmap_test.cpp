// The load heatmap shows exactly the stored loads: the cube against the session's rows, the
// color map's cells against the cube, normalisation, the step view, hover text and clicks.
#include <qcustomplot.h>
#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/views/heatmap_view.h"
#include "app/viewdata/load_cube.h"
#include "app/viewdata/loaded_run.h"
#include "core/base/error.h"
#include "core/session/session_store.h"
#include "tests/gui/gui_test_support.h"

using namespace moescope;
using viewdata::LoadKind;

class HeatmapTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    session_ = dir_.filePath("loads.moescope").toStdString();
    const auto ids = gui::testing::record(gui::testing::small_experiment(/*steps=*/3), session_);
    run_ = ids.back();
    SessionStore store(session_, SessionStore::Access::kRead);
    rows_ = store.expert_loads(run_);
    QVERIFY(!rows_.empty());
  }

  void cube_equals_stored_loads() {
    const auto cube = viewdata::LoadCube::from_rows(rows_);
    QCOMPARE(cube.steps(), 3);
    QCOMPARE(cube.experts(), 64);
    QCOMPARE(static_cast<std::size_t>(cube.steps() * cube.layer_count() * cube.experts()),
             rows_.size());
    for (const auto& r : rows_) {
      const int li = cube.layer_index(r.layer);
      QCOMPARE(cube.value(r.step, li, r.expert, LoadKind::kRouted), r.routed);
      QCOMPARE(cube.value(r.step, li, r.expert, LoadKind::kKept), r.kept);
      QCOMPARE(cube.value(r.step, li, r.expert, LoadKind::kDropped), r.dropped);
      QCOMPARE(cube.value(r.step, li, r.expert, LoadKind::kAdded), r.added);
      QCOMPARE(cube.device_of_expert()[static_cast<std::size_t>(r.expert)], r.device);
    }
  }

  void layer_grid_is_the_mean_over_steps() {
    const auto cube = viewdata::LoadCube::from_rows(rows_);
    const auto grid = cube.layer_grid(LoadKind::kKept, false);
    QCOMPARE(grid.rows, cube.layer_count());
    std::vector<double> sums(static_cast<std::size_t>(grid.rows * grid.cols), 0.0);
    for (const auto& r : rows_)
      sums[static_cast<std::size_t>(cube.layer_index(r.layer) * grid.cols + r.expert)] +=
          static_cast<double>(r.kept);
    for (int l = 0; l < grid.rows; ++l) {
      for (int e = 0; e < grid.cols; ++e)
        QCOMPARE(grid.at(l, e), sums[static_cast<std::size_t>(l * grid.cols + e)] / 3.0);
    }
  }

  void normalized_rows_have_mean_one() {
    const auto cube = viewdata::LoadCube::from_rows(rows_);
    const auto grid = cube.layer_grid(LoadKind::kRouted, true);
    for (int l = 0; l < grid.rows; ++l) {
      double sum = 0;
      for (int e = 0; e < grid.cols; ++e)
        sum += grid.at(l, e);
      QVERIFY(std::abs(sum / grid.cols - 1.0) < 1e-12);
    }
    viewdata::Grid zeros{1, 3, {0, 0, 0}};
    viewdata::normalize_rows(zeros);
    QCOMPARE(zeros.values, (std::vector<double>{0, 0, 0}));
  }

  void incomplete_rows_are_refused() {
    auto rows = rows_;
    rows.pop_back();
    QVERIFY_THROWS_EXCEPTION(Error, viewdata::LoadCube::from_rows(rows));
    QVERIFY(viewdata::LoadCube::from_rows({}).empty());
  }

  void view_cells_equal_the_selected_grid() {
    gui::HeatmapView view;
    view.resize(1000, 600);
    view.show();
    view.show_loads(viewdata::LoadCube::from_rows(rows_));
    const auto& cube = view.cube();
    for (int k = 0; k < viewdata::kLoadKindCount; ++k) {
      for (bool normalized : {false, true}) {
        view.set_selection(static_cast<LoadKind>(k), normalized, std::nullopt);
        const auto expected = cube.layer_grid(static_cast<LoadKind>(k), normalized);
        auto* data = view.chart().color_map()->data();
        QCOMPARE(data->keySize(), expected.cols);
        QCOMPARE(data->valueSize(), expected.rows);
        for (int l = 0; l < expected.rows; ++l) {
          for (int e = 0; e < expected.cols; ++e)
            QCOMPARE(data->cell(e, l), expected.at(l, e));
        }
      }
    }
    // Steps x experts for the last layer shows each step's exact load.
    const int layer = cube.layer_ids().back();
    view.set_selection(LoadKind::kRouted, false, layer);
    auto* data = view.chart().color_map()->data();
    QCOMPARE(data->valueSize(), 3);
    for (const auto& r : rows_) {
      if (r.layer == layer) QCOMPARE(data->cell(r.expert, r.step), static_cast<double>(r.routed));
    }
  }

  void hover_and_click_name_the_cell() {
    gui::HeatmapView view;
    view.resize(1000, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.show_loads(viewdata::LoadCube::from_rows(rows_));
    view.set_selection(LoadKind::kRouted, false, std::nullopt);
    const auto& cube = view.cube();
    const QString text = view.cell_text(0, 5);
    QVERIFY2(text.contains("expert 5"), qPrintable(text));
    QVERIFY2(text.contains(QString::number(cube.mean_over_steps(0, 5, LoadKind::kRouted), 'f', 1)),
             qPrintable(text));

    QSignalSpy spy(&view, &gui::HeatmapView::cell_selected);
    QCustomPlot* plot = view.plot();
    const QPoint at(static_cast<int>(plot->xAxis->coordToPixel(7)),
                    static_cast<int>(plot->yAxis->coordToPixel(0)));
    QTest::mouseClick(plot, Qt::LeftButton, {}, at);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toInt(), cube.layer_ids().front());
    QCOMPARE(spy.at(0).at(1).toInt(), 7);
  }

  void a_single_row_is_drawn_whole() {
    // One step (the CLI's default) gives a one-row steps x experts grid: it must fill the plot,
    // outer cells included, not collapse to a line.
    viewdata::LoadCube cube(1, {0}, 4);
    for (int e = 0; e < 4; ++e)
      cube.set(0, 0, e, LoadKind::kRouted, 10 * (e + 1));
    cube.finish();
    gui::HeatmapView view;
    view.resize(800, 500);
    view.show();
    view.show_loads(std::move(cube));
    view.set_selection(LoadKind::kRouted, false, 0);
    QCustomPlot* plot = view.plot();
    const QImage image = plot->toPixmap(plot->width(), plot->height()).toImage();
    for (double x : {0.0, 3.0}) {
      for (double y : {-0.4, 0.0, 0.4}) {
        const QPoint p(static_cast<int>(plot->xAxis->coordToPixel(x)),
                       static_cast<int>(plot->yAxis->coordToPixel(y)));
        QVERIFY2(image.pixelColor(p) != QColor(Qt::white),
                 qPrintable(QString("cell (%1, %2) is blank").arg(x).arg(y)));
      }
    }
  }

  void a_replicated_run_shows_its_physical_slots() {
    Experiment e = gui::testing::small_experiment(/*steps=*/2);
    e.devices = {8};
    e.replication.replicas = 8;  // 72 slots
    e.policies.kinds.clear();    // the baseline and `replicate`
    const std::string path = dir_.filePath("replicas.moescope").toStdString();
    const auto ids = gui::testing::record(e, path);
    const auto run = viewdata::load_run(path, ids.back(), nullptr);
    QVERIFY(run.cube && run.slot_cube);
    QCOMPARE(run.slot_cube->experts(), 72);
    gui::HeatmapView view;
    view.resize(1000, 600);
    view.show();
    view.show_loads(run.cube);
    view.show_slots(run.slot_cube, run.slot_expert);
    QVERIFY(!view.slot_columns_shown());
    QCOMPARE(view.chart().color_map()->data()->keySize(), 64);
    view.show_slot_columns(true);
    QVERIFY(view.slot_columns_shown());
    QCOMPARE(view.chart().color_map()->data()->keySize(), 72);
    // A slot's cell is the rows it computed, and its hover names its expert and device.
    const int layer = run.slot_cube->layer_ids().front();
    const auto& plan = run.slot_expert.at(layer);
    const auto grid = run.slot_cube->layer_grid(LoadKind::kKept, false);
    QCOMPARE(view.chart().color_map()->data()->cell(10, 0), grid.at(0, 10));
    const QString text = view.cell_text(0, 10);
    QVERIFY2(text.contains(QString("slot 10 on device 1: a replica of expert %1").arg(plan[10])),
             qPrintable(text));
    // Rows of one expert's slots add up to its kept load (per step, so over the means too).
    double rows = 0;
    for (std::size_t s = 0; s < plan.size(); ++s) {
      if (plan[s] == plan[10]) rows += grid.at(0, static_cast<int>(s));
    }
    QCOMPARE(rows, run.cube->layer_grid(LoadKind::kKept, false).at(0, plan[10]));
    // Another run without replicas hides the choice.
    view.show_loads(run.cube);
    QVERIFY(!view.slot_columns_shown());
  }

  void empty_run_shows_a_message() {
    gui::HeatmapView view;
    view.show_loads(viewdata::LoadCube{});
    view.clear();
    QVERIFY(!view.plot()->isVisible());
    QCOMPARE(view.cell_text(0, 0), QString());
  }

 private:
  QTemporaryDir dir_;
  std::string session_;
  std::int64_t run_ = 0;
  std::vector<ExpertLoadRow> rows_;
};

QTEST_MAIN(HeatmapTest)
#include "heatmap_test.moc"
