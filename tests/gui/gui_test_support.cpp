#include "tests/gui/gui_test_support.h"

#include <cstdlib>

#include "core/session/run_recorder.h"
#include "core/session/session_store.h"

namespace moescope::gui::testing {

RunRequest small_request(const std::string& session_path, int steps, bool compare) {
  // The demo's shape and policy, smaller.
  RunRequest r = demo_request(session_path);
  r.tokens = 128;
  r.steps = steps;
  r.compare = compare;
  return r;
}

std::vector<std::int64_t> record(const RunRequest& request) {
  const RunOptions options = make_run_options(request);
  auto source = make_routing(request, options.spec);
  SessionStore store(request.session_path, SessionStore::Access::kWrite);
  return record_run(store, options, *source, {}, nullptr).run_ids;
}

void isolate_user_dirs(const std::string& dir) {
  ::setenv("XDG_CONFIG_HOME", (dir + "/config").c_str(), 1);
  ::setenv("XDG_DATA_HOME", (dir + "/data").c_str(), 1);
}

}  // namespace moescope::gui::testing
