#include "tests/gui/gui_test_support.h"

#include <cstdlib>

#include "core/exec/cpu_backend.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"

namespace moescope::gui::testing {

Experiment small_experiment(int steps, bool compare) {
  Experiment e = demo_experiment();
  e.routing.tokens = 128;
  e.steps = steps;
  e.repeats = 2;  // the protocol, at the least cost: these tests check numbers, not noise
  e.policies.kinds = compare ? compared_kinds() : std::vector{PolicyKind::kDrop};
  e.backend = "cpu";
  return e;
}

std::vector<std::int64_t> record(const Experiment& experiment, const std::string& session_path) {
  SessionStore store(session_path, SessionStore::Access::kWrite);
  const auto backend = make_cpu_backend();
  std::vector<std::int64_t> ids;
  for (const auto& batch :
       record_experiment(store, experiment, *backend, nullptr, nullptr).batches) {
    ids.insert(ids.end(), batch.run_ids.begin(), batch.run_ids.end());
  }
  return ids;
}

void isolate_user_dirs(const std::string& dir) {
  ::setenv("XDG_CONFIG_HOME", (dir + "/config").c_str(), 1);
  ::setenv("XDG_DATA_HOME", (dir + "/data").c_str(), 1);
}

}  // namespace moescope::gui::testing
