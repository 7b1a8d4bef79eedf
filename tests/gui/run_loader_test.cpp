// Runs load off the GUI thread: a result overtaken by a newer request is dropped, what was
// loaded is reused, and a session that changed is read again.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/run_loader.h"
#include "tests/gui/gui_test_support.h"

namespace moescope {

class RunLoaderTest : public QObject {
  Q_OBJECT

  static void wait_idle(const gui::RunLoader& loader) {
    QElapsedTimer clock;
    clock.start();
    while (loader.busy() && clock.elapsed() < 60000)
      QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
  }

 private slots:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    path_ = dir_.filePath("loader.moescope").toStdString();
    ids_ = gui::testing::record(gui::testing::small_experiment(2, /*compare=*/true), path_);
    QCOMPARE(ids_.size(), std::size_t{4});
  }

  void aResultOvertakenByANewerRequestIsDropped() {
    gui::RunLoader loader;
    std::vector<std::int64_t> shown;
    QString error;
    const auto show = [&](std::shared_ptr<const viewdata::LoadedRun> run) {
      shown.push_back(run->data.run.id);
    };
    const auto fail = [&](const QString& message) { error = message; };
    loader.load_run({path_, ids_[0]}, show, fail);
    loader.load_run({path_, ids_[1]}, show, fail);
    loader.load_run({path_, ids_[2]}, show, fail);
    QVERIFY(loader.busy());
    wait_idle(loader);
    QCOMPARE(error, QString());
    QCOMPARE(shown, std::vector<std::int64_t>{ids_[2]});
  }

  void aLoadedRunIsReusedAndItsViewsDataIsWhole() {
    gui::RunLoader loader;
    std::shared_ptr<const viewdata::LoadedRun> first;
    loader.load_run(
        {path_, ids_[1]}, [&](auto run) { first = run; }, [](const QString&) {});
    wait_idle(loader);
    QVERIFY(first != nullptr);
    QVERIFY(first->cube && !first->cube->empty());
    QVERIFY(first->timeline && !first->timeline->empty());
    QCOMPARE(first->data.layers.size(), std::size_t{2 * 16});  // 2 steps x 16 layers
    // Kept: the second request is answered at once, with the same data.
    std::shared_ptr<const viewdata::LoadedRun> again;
    loader.load_run(
        {path_, ids_[1]}, [&](auto run) { again = run; }, [](const QString&) {});
    QCOMPARE(again.get(), first.get());
    QVERIFY(!loader.busy());
    // After the session changed, it is read again.
    loader.forget(path_);
    again.reset();
    loader.load_run(
        {path_, ids_[1]}, [&](auto run) { again = run; }, [](const QString&) {});
    QVERIFY(again == nullptr);
    wait_idle(loader);
    QVERIFY(again != nullptr && again.get() != first.get());
  }

  void aComparisonReusesTheSummariesItRead() {
    gui::RunLoader loader;
    std::vector<std::int64_t> order;
    const auto take = [&](std::vector<std::shared_ptr<const viewdata::RunData>> runs) {
      order.clear();
      for (const auto& r : runs)
        order.push_back(r->run.id);
    };
    loader.load_summaries({{path_, ids_[0]}, {path_, ids_[3]}}, take, [](const QString&) {});
    wait_idle(loader);
    QCOMPARE(order, (std::vector<std::int64_t>{ids_[0], ids_[3]}));
    // Both were read: asked again, in another order, they come at once.
    loader.load_summaries({{path_, ids_[3]}, {path_, ids_[0]}}, take, [](const QString&) {});
    QCOMPARE(order, (std::vector<std::int64_t>{ids_[3], ids_[0]}));
    QVERIFY(!loader.busy());
  }

  void aMissingRunFailsNamingIt() {
    gui::RunLoader loader;
    QString error;
    loader.load_run(
        {path_, 999}, [](auto) { QFAIL("a missing run loaded"); },
        [&](const QString& message) { error = message; });
    wait_idle(loader);
    QVERIFY2(error.contains("no run 999"), qPrintable(error));
  }

 private:
  QTemporaryDir dir_;
  std::string path_;
  std::vector<std::int64_t> ids_;
};

}  // namespace moescope

QTEST_MAIN(moescope::RunLoaderTest)
#include "run_loader_test.moc"
