// Loads stored runs off the GUI thread, the way KDAB Hotspot loads its views: every request
// gets a job id, its result comes back on the GUI thread, and a result that a newer request of
// the same kind has overtaken is dropped. What was loaded is kept (a few whole runs, many
// summaries), so going back to a run, or comparing runs already seen, reads nothing again.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <QObject>
#include <QString>
#include <QThreadPool>

#include "app/gui/models/runs_model.h"
#include "app/viewdata/loaded_run.h"
#include "core/base/cancel.h"

namespace moescope::gui {

class RunLoader : public QObject {
  Q_OBJECT

 public:
  using RunDone = std::function<void(std::shared_ptr<const viewdata::LoadedRun>)>;
  using SummariesDone = std::function<void(std::vector<std::shared_ptr<const viewdata::RunData>>)>;
  using Failed = std::function<void(const QString& message)>;

  explicit RunLoader(QObject* parent = nullptr);
  ~RunLoader() override;  // cancels and waits for the jobs under way

  // Loads a run for the single-run views. `done` or `failed` is called on the GUI thread,
  // unless a newer load_run came first; from what is kept, `done` is called at once.
  void load_run(const RunRef& ref, RunDone done, Failed failed);
  // The same for the run the timeline compares with (A/B): its own line of requests, so that
  // neither overtakes the other.
  void load_compared_run(const RunRef& ref, RunDone done, Failed failed);
  // Loads the summaries of runs (of any open sessions) for Compare; the same rules.
  void load_summaries(const std::vector<RunRef>& refs, SummariesDone done, Failed failed);
  // Forgets what is kept of a session's runs: the file changed.
  void forget(const std::string& session_path);

  // Whether a job is under way or its result is yet to be delivered.
  bool busy() const { return jobs_in_flight_ > 0; }
  void wait();

 private:
  using Key = std::pair<std::string, std::int64_t>;
  static Key key_of(const RunRef& ref) { return {ref.session_path, ref.run_id}; }
  void keep_run(const Key& key, std::shared_ptr<const viewdata::LoadedRun> run);
  void keep_summary(const Key& key, std::shared_ptr<const viewdata::RunData> data);
  std::uint64_t generation_of(const std::string& session_path) const;
  // One line of run requests: a newer request drops the older one's result.
  struct RunLine {
    std::uint64_t job = 0;
    std::shared_ptr<CancelFlag> cancel;
  };
  void load_run_on(RunLine& line, const RunRef& ref, RunDone done, Failed failed);

  QThreadPool pool_;
  int jobs_in_flight_ = 0;
  RunLine shown_line_;
  RunLine compared_line_;
  std::uint64_t summaries_job_ = 0;
  std::shared_ptr<CancelFlag> summaries_cancel_;
  // Results of a session read before forget() are not kept: its generation moved on.
  std::map<std::string, std::uint64_t> generations_;
  // Kept, most recent first.
  std::list<std::pair<Key, std::shared_ptr<const viewdata::LoadedRun>>> runs_;
  std::map<Key, std::shared_ptr<const viewdata::RunData>> summaries_;
};

}  // namespace moescope::gui
