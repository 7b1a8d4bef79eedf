#include "app/gui/run_loader.h"

#include <QMetaObject>

#include "core/base/error.h"

namespace moescope::gui {

namespace {

// A whole run of a million spans takes about 100 MB; a summary a few kB per layer and step.
constexpr std::size_t kRunsKept = 4;
constexpr std::size_t kSummariesKept = 512;

}  // namespace

RunLoader::RunLoader(QObject* parent) : QObject(parent) {
  // One worker: on a 2-core machine a second one would take the core the GUI thread needs.
  pool_.setMaxThreadCount(1);
}

RunLoader::~RunLoader() {
  for (RunLine* line : {&shown_line_, &compared_line_}) {
    if (line->cancel) line->cancel->store(true);
  }
  if (summaries_cancel_) summaries_cancel_->store(true);
  pool_.waitForDone();
}

void RunLoader::wait() {
  pool_.waitForDone();
}

std::uint64_t RunLoader::generation_of(const std::string& session_path) const {
  const auto it = generations_.find(session_path);
  return it == generations_.end() ? 0 : it->second;
}

void RunLoader::forget(const std::string& session_path) {
  ++generations_[session_path];
  runs_.remove_if([&](const auto& entry) { return entry.first.first == session_path; });
  std::erase_if(summaries_, [&](const auto& entry) { return entry.first.first == session_path; });
}

void RunLoader::keep_run(const Key& key, std::shared_ptr<const viewdata::LoadedRun> run) {
  runs_.remove_if([&](const auto& entry) { return entry.first == key; });
  runs_.emplace_front(key, std::move(run));
  if (runs_.size() > kRunsKept) runs_.pop_back();
}

void RunLoader::keep_summary(const Key& key, std::shared_ptr<const viewdata::RunData> data) {
  if (summaries_.size() >= kSummariesKept) summaries_.clear();  // rare; reading again is cheap
  summaries_[key] = std::move(data);
}

void RunLoader::load_run(const RunRef& ref, RunDone done, Failed failed) {
  load_run_on(shown_line_, ref, std::move(done), std::move(failed));
}

void RunLoader::load_compared_run(const RunRef& ref, RunDone done, Failed failed) {
  load_run_on(compared_line_, ref, std::move(done), std::move(failed));
}

void RunLoader::load_run_on(RunLine& line, const RunRef& ref, RunDone done, Failed failed) {
  const std::uint64_t job = ++line.job;
  if (line.cancel) line.cancel->store(true);  // the older job's result would be dropped anyway
  const Key key = key_of(ref);
  for (const auto& [kept_key, run] : runs_) {
    if (kept_key == key) {
      const auto found = run;
      keep_run(key, found);  // most recent first
      done(found);
      return;
    }
  }
  auto cancel = std::make_shared<CancelFlag>(false);
  line.cancel = cancel;
  const std::uint64_t generation = generation_of(ref.session_path);
  ++jobs_in_flight_;
  pool_.start([this, &line, ref, key, job, generation, cancel, done = std::move(done),
               failed = std::move(failed)] {
    std::shared_ptr<const viewdata::LoadedRun> loaded;
    QString error;
    bool cancelled = false;
    try {
      loaded = std::make_shared<const viewdata::LoadedRun>(
          viewdata::load_run(ref.session_path, ref.run_id, cancel.get()));
    } catch (const Cancelled&) {
      cancelled = true;
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    // Back on the GUI thread; dropped with this object if it is gone by then.
    QMetaObject::invokeMethod(
        this,
        [this, &line, key, job, generation, loaded, error, cancelled, done, failed] {
          --jobs_in_flight_;
          if (loaded && generation == generation_of(key.first)) keep_run(key, loaded);
          if (cancelled || job != line.job) return;  // overtaken by a newer request
          if (loaded) {
            done(loaded);
          } else {
            failed(error);
          }
        },
        Qt::QueuedConnection);
  });
}

void RunLoader::load_summaries(const std::vector<RunRef>& refs, SummariesDone done, Failed failed) {
  const std::uint64_t job = ++summaries_job_;
  if (summaries_cancel_) summaries_cancel_->store(true);
  // What is kept is reused; the rest is read per session, in one job.
  std::vector<std::shared_ptr<const viewdata::RunData>> found(refs.size());
  std::map<std::string, std::vector<std::size_t>> missing;  // session -> indices into refs
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const auto it = summaries_.find(key_of(refs[i]));
    if (it != summaries_.end()) {
      found[i] = it->second;
    } else {
      missing[refs[i].session_path].push_back(i);
    }
  }
  if (missing.empty()) {
    done(std::move(found));
    return;
  }
  auto cancel = std::make_shared<CancelFlag>(false);
  summaries_cancel_ = cancel;
  std::map<std::string, std::uint64_t> generations;
  for (const auto& [path, indices] : missing)
    generations[path] = generation_of(path);
  ++jobs_in_flight_;
  pool_.start([this, refs, missing, generations, job, cancel, found = std::move(found),
               done = std::move(done), failed = std::move(failed)]() mutable {
    QString error;
    bool cancelled = false;
    try {
      for (const auto& [path, indices] : missing) {
        std::vector<std::int64_t> ids;
        for (std::size_t i : indices)
          ids.push_back(refs[i].run_id);
        auto runs = viewdata::load_summaries(path, ids, cancel.get());
        for (std::size_t n = 0; n < indices.size(); ++n)
          found[indices[n]] = std::make_shared<const viewdata::RunData>(std::move(runs[n]));
      }
    } catch (const Cancelled&) {
      cancelled = true;
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(
        this,
        [this, refs, generations, job, error, cancelled, found, done, failed] {
          --jobs_in_flight_;
          if (cancelled) return;
          if (error.isEmpty()) {
            for (std::size_t i = 0; i < refs.size(); ++i) {
              const std::string& path = refs[i].session_path;
              if (generations.contains(path) && generations.at(path) == generation_of(path))
                keep_summary(key_of(refs[i]), found[i]);
            }
          }
          if (job != summaries_job_) return;  // overtaken by a newer request
          if (error.isEmpty()) {
            done(found);
          } else {
            failed(error);
          }
        },
        Qt::QueuedConnection);
  });
}

}  // namespace moescope::gui
