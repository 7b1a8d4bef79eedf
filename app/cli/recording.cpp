#include "app/cli/recording.h"

#include <cstdio>

#include "app/cli/terminal.h"
#include "core/exec/backend_registry.h"
#include "core/run/cost_model_file.h"

namespace moescope::cli {

RecordedExperiment record_in_session(const Experiment& experiment, const std::string& session_path,
                                     const std::string& label, const CancelFlag* cancel) {
  // Bad input is refused before a session file is created or a GPU started.
  const Experiment resolved = resolve(experiment);
  validate(resolved);
  if (const std::string note = scale_note(experiment); !note.empty())
    std::fprintf(stderr, "note: %s\n", note.c_str());
  const auto backend = make_backend(resolved.backend);
  SessionStore store(session_path, SessionStore::Access::kWrite);
  ProgressLine progress(label + " " + resolved.model.spec->name);
  CostModels cost_models(default_cost_model_path());
  return record_experiment(
      store, resolved, *backend,
      [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel,
      &cost_models);
}

}  // namespace moescope::cli
