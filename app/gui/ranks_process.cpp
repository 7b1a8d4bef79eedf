#include "app/gui/ranks_process.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>
#include <QStringList>
#include <QTemporaryFile>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/run/experiment_json.h"
#include "core/session/session_store.h"

namespace moescope::gui {

namespace {

std::int64_t last_run_id(const std::string& session_path) {
  if (!QFileInfo::exists(QString::fromStdString(session_path))) return 0;
  SessionStore store(session_path, SessionStore::Access::kRead);
  std::int64_t last = 0;
  for (const auto& run : store.runs())
    last = std::max(last, run.id);
  return last;
}

// What the command said last: its "error: ..." line, or the end of what it wrote.
std::string failure_of(const QByteArray& err) {
  const QStringList lines = QString::fromUtf8(err).split('\n', Qt::SkipEmptyParts);
  for (const QString& line : lines) {
    if (line.startsWith("error")) return line.toStdString();
  }
  return lines.isEmpty() ? "no message" : lines.back().trimmed().toStdString();
}

}  // namespace

QString moescope_cli_path() {
  const QString given = qEnvironmentVariable("MOESCOPE_CLI");
  if (!given.isEmpty()) return given;
  const QDir here(QCoreApplication::applicationDirPath());
  for (const QString& candidate :
       {here.filePath("moescope-cli"), here.filePath("../cli/moescope-cli")}) {
    if (QFileInfo(candidate).isExecutable()) return QFileInfo(candidate).canonicalFilePath();
  }
  return QStandardPaths::findExecutable("moescope-cli");
}

QList<qint64> run_as_ranks(const Experiment& experiment, const std::string& session_path,
                           const CancelFlag& cancel) {
  if (experiment.devices.size() != 1) {
    throw Error("a measured run needs one device count (one rank per device)");
  }
  const QString mpirun = QStandardPaths::findExecutable("mpirun");
  if (mpirun.isEmpty()) {
    throw Error(
        "timing 'measured' runs one process per device under mpirun, which was not found "
        "(Debian: openmpi-bin)");
  }
  const QString cli = moescope_cli_path();
  if (cli.isEmpty()) {
    throw Error(
        "timing 'measured' runs moescope-cli under mpirun; moescope-cli was not found "
        "beside the app or on PATH (or set MOESCOPE_CLI)");
  }
  QTemporaryFile request(QDir::tempPath() + "/moescope-request-XXXXXX.json");
  if (!request.open())
    throw Error("cannot write the run's request to " + QDir::tempPath().toStdString());
  request.write(QByteArray::fromStdString(experiment_to_json(experiment).dump()));
  request.flush();
  const std::int64_t before = last_run_id(session_path);

  QProcess ranks;
  ranks.setProgram(mpirun);
  ranks.setArguments({"-q", "-np", QString::number(experiment.devices.front()), "--oversubscribe",
                      cli, "run", "--request", request.fileName(), "--ranks", "--session",
                      QString::fromStdString(session_path)});
  ranks.start();
  if (!ranks.waitForStarted(10000)) {
    throw Error("cannot start " + mpirun.toStdString() + ": " + ranks.errorString().toStdString());
  }
  while (!ranks.waitForFinished(100)) {
    if (!cancel.load()) continue;
    ranks.terminate();  // mpirun passes SIGTERM on to every rank
    if (!ranks.waitForFinished(10000)) ranks.kill();
    ranks.waitForFinished(5000);
    throw Cancelled();
  }
  if (ranks.exitStatus() != QProcess::NormalExit || ranks.exitCode() != 0) {
    throw Error("the ranks failed: " + failure_of(ranks.readAllStandardError()));
  }
  QList<qint64> ids;
  SessionStore store(session_path, SessionStore::Access::kRead);
  for (const auto& run : store.runs()) {
    if (run.id > before) ids.push_back(run.id);
  }
  return ids;
}

}  // namespace moescope::gui
