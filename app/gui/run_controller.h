// Runs an experiment on a worker thread and records it in a session, reporting back on the GUI
// thread: progress, the stored run ids, a failure message or a cancellation. One run at a time; the
// outcome is reported after the thread has ended, so a handler may start the next run at once.
#pragma once

#include <atomic>

#include <QList>
#include <QObject>
#include <QThread>

#include <string>

#include "core/base/cancel.h"
#include "core/run/experiment.h"

namespace moescope::gui {

class RunController : public QObject {
  Q_OBJECT

 public:
  explicit RunController(QObject* parent = nullptr);
  ~RunController() override;  // cancels and waits for a running job

  bool busy() const { return thread_ != nullptr; }
  // Returns false (and does nothing) when a run is already going.
  bool start(const Experiment& experiment, const std::string& session_path);
  void cancel();
  void wait();

 signals:
  void progress(qint64 done, qint64 total);
  void finished(QString session_path, QList<qint64> run_ids);
  void failed(QString session_path, QString message);
  void cancelled(QString session_path);
  void busy_changed(bool busy);

 private:
  enum class Outcome { kFinished, kFailed, kCancelled };
  void work(const Experiment& experiment, const std::string& session_path);
  void report_outcome();

  QThread* thread_ = nullptr;
  // Written by the worker, read on the GUI thread after the thread has finished.
  Outcome outcome_ = Outcome::kFailed;
  QString session_;
  QList<qint64> run_ids_;
  QString message_;
  CancelFlag cancel_{false};
};

}  // namespace moescope::gui
