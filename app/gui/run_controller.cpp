#include "app/gui/run_controller.h"

#include <chrono>

#include "core/error.h"
#include "core/run_recorder.h"
#include "core/session_store.h"

namespace moescope::gui {

RunController::RunController(QObject* parent) : QObject(parent) {}

RunController::~RunController() {
  cancel();
  wait();
}

bool RunController::start(const RunRequest& request) {
  if (thread_ != nullptr) return false;
  cancel_.store(false);
  thread_ = QThread::create([this, request] { work(request); });
  connect(thread_, &QThread::finished, this, [this] {
    thread_->deleteLater();
    thread_ = nullptr;
    emit busy_changed(false);
  });
  emit busy_changed(true);
  thread_->start();
  return true;
}

void RunController::cancel() {
  cancel_.store(true);
}

void RunController::wait() {
  if (thread_ != nullptr) thread_->wait();
}

// On the worker thread: signals emitted here reach receivers on the GUI thread queued.
void RunController::work(RunRequest request) {
  const QString session = QString::fromStdString(request.session_path);
  try {
    const RunOptions options = make_run_options(request);
    auto source = make_routing(request, options.spec);
    SessionStore store(request.session_path, SessionStore::Access::kWrite);
    const auto group = request.compare ? std::optional(store.new_group()) : std::nullopt;
    // Progress arrives per layer and expert; the bar needs a few updates a second at most.
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const ProgressFn on_progress = [&](std::int64_t done, std::int64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (done != total && now - last < std::chrono::milliseconds(50)) return;
      last = now;
      emit progress(done, total);
    };
    const RecordedRun recorded = record_run(store, options, *source, on_progress, &cancel_, group);
    QList<qint64> ids;
    for (auto id : recorded.run_ids)
      ids.push_back(id);
    emit finished(session, ids);
  } catch (const Cancelled&) {
    emit cancelled(session);
  } catch (const std::exception& e) {
    emit failed(session, QString::fromStdString(e.what()));
  }
}

}  // namespace moescope::gui
