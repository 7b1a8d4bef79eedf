// A measured run from the app: the run controller starts mpirun with one rank per device, the
// runs land in the session as measured, Cancel stops every rank, and a failure is a message.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/run_controller.h"
#include "core/session/session_store.h"

namespace {

using moescope::Experiment;
using moescope::SessionStore;
using moescope::gui::RunController;

Experiment measured(int steps, int scale) {
  Experiment e;
  e.model.preset = "olmoe-1b-7b";
  e.model.scale = scale;
  e.model.layers = {0, 1};
  e.routing.tokens = 128;
  e.steps = steps;
  e.repeats = 2;
  e.devices = {2};
  e.backend = "cpu";
  e.timing = "measured";
  return e;
}

class RanksProcessTest : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    // mpirun as root needs Open MPI's opt-in; the CLI under test, not one on PATH.
    qputenv("OMPI_ALLOW_RUN_AS_ROOT", "1");
    qputenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    qputenv("MOESCOPE_CLI", MOESCOPE_CLI_PATH);
  }

  void a_measured_run_stores_ranked_runs() {
    QTemporaryDir dir;
    const std::string session = dir.filePath("ranks.moescope").toStdString();
    RunController controller;
    QSignalSpy finished(&controller, &RunController::finished);
    QSignalSpy failed(&controller, &RunController::failed);
    QVERIFY(controller.start(measured(1, 32), session));
    QVERIFY2(finished.wait(120000),
             failed.isEmpty() ? "no outcome" : qPrintable(failed.front().at(1).toString()));
    const auto ids = finished.front().at(1).value<QList<qint64>>();
    QCOMPARE(ids.size(), 2);  // the baseline and drop
    SessionStore store(session, SessionStore::Access::kRead);
    for (qint64 id : ids) {
      const auto run = store.run(id);
      QCOMPARE(run.status, std::string("complete"));
      QCOMPARE(run.timing, std::string("measured"));
      QCOMPARE(run.devices, 2);
      bool rank1 = false;
      for (const auto& e : store.spans(id))
        rank1 = rank1 || e.device == 1;
      QVERIFY(rank1);
    }
  }

  void cancel_stops_every_rank() {
    QTemporaryDir dir;
    const std::string session = dir.filePath("cancelled.moescope").toStdString();
    RunController controller;
    QSignalSpy cancelled(&controller, &RunController::cancelled);
    QVERIFY(controller.start(measured(500, 4), session));
    QTest::qWait(3000);
    controller.cancel();
    QVERIFY(cancelled.wait(30000));
    SessionStore store(session, SessionStore::Access::kRead);
    for (const auto& run : store.runs())
      QVERIFY(run.status != "complete");
  }

  void a_failure_is_a_message() {
    QTemporaryDir dir;
    RunController controller;
    QSignalSpy failed(&controller, &RunController::failed);
    Experiment e = measured(1, 32);
    e.placement = std::vector<int>(64, 0);  // every expert on device 0 of 2: fine
    e.placement[5] = 7;                     // a device the run does not have
    QVERIFY(controller.start(e, dir.filePath("failed.moescope").toStdString()));
    QVERIFY(failed.wait(60000));
    QVERIFY2(failed.front().at(1).toString().contains("placement"),
             qPrintable(failed.front().at(1).toString()));
  }
};

}  // namespace

QTEST_MAIN(RanksProcessTest)
#include "ranks_process_test.moc"
