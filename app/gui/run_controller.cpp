#include "app/gui/run_controller.h"

#include <chrono>

#include "app/gui/ranks_process.h"
#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "core/run/cost_model_file.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"

namespace moescope::gui {

RunController::RunController(QObject* parent) : QObject(parent) {}

RunController::~RunController() {
  cancel();
  wait();
}

bool RunController::start(const Experiment& experiment, const std::string& session_path) {
  if (thread_ != nullptr) return false;
  cancel_.store(false);
  thread_ = QThread::create([this, experiment, session_path] { work(experiment, session_path); });
  connect(thread_, &QThread::finished, this, [this] {
    thread_->deleteLater();
    thread_ = nullptr;
    emit busy_changed(false);
    report_outcome();
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

void RunController::report_outcome() {
  switch (outcome_) {
    case Outcome::kFinished:
      emit finished(session_, run_ids_);
      break;
    case Outcome::kFailed:
      emit failed(session_, message_);
      break;
    case Outcome::kCancelled:
      emit cancelled(session_);
      break;
  }
}

// On the worker thread: progress reaches the GUI thread queued; the outcome is kept for
// report_outcome, which runs on the GUI thread once this thread has finished.
void RunController::work(const Experiment& experiment, const std::string& session_path) {
  session_ = QString::fromStdString(session_path);
  run_ids_.clear();
  message_.clear();
  try {
    // Bad settings are refused before the session is touched or a GPU started.
    const Experiment resolved = resolve(experiment);
    validate(resolved);
    if (resolved.timing == profiler::timing_name(profiler::Timing::kMeasured)) {
      emit progress(0, 0);  // the ranks report no progress: busy until they end
      run_ids_ = run_as_ranks(resolved, session_path, cancel_);
      outcome_ = Outcome::kFinished;
      return;
    }
    const auto backend = make_backend(resolved.backend);
    SessionStore store(session_path, SessionStore::Access::kWrite);
    // Progress arrives per layer and expert; the bar needs a few updates a second at most.
    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    const ProgressFn on_progress = [&](std::int64_t done, std::int64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (done != total && now - last < std::chrono::milliseconds(50)) return;
      last = now;
      emit progress(done, total);
    };
    CostModels cost_models(default_cost_model_path());
    const RecordedExperiment recorded =
        record_experiment(store, resolved, *backend, on_progress, &cancel_, &cost_models);
    for (const auto& batch : recorded.batches) {
      for (auto id : batch.run_ids)
        run_ids_.push_back(id);
    }
    outcome_ = Outcome::kFinished;
  } catch (const Cancelled&) {
    outcome_ = Outcome::kCancelled;
  } catch (const std::exception& e) {
    outcome_ = Outcome::kFailed;
    message_ = QString::fromStdString(e.what());
  }
}

}  // namespace moescope::gui
