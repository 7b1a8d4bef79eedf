// A session file opened, every run read as the app shows it (summary, load cube, timeline) and
// exported three ways, and its stored request read back as `rerun` does. moescope::Error is
// the answer to a bad file; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "app/viewdata/loaded_run.h"
#include "core/base/error.h"
#include "core/model/json_file.h"
#include "core/session/rerun.h"
#include "core/session/session_export.h"
#include "core/session/session_store.h"
#include "tests/fuzz/fuzz_input_file.h"

namespace {

void read_run(moescope::SessionStore& store, const moescope::StoredRun& run) {
  (void)moescope::export_csv(store, run.id);
  // As the CLI writes them: bytes that are not UTF-8 become U+FFFD.
  (void)moescope::json_text(moescope::export_json(store, run.id));
  (void)moescope::json_text(moescope::export_chrome_trace(store, run.id));
  (void)store.repeats(run.id);
  (void)moescope::viewdata::load_run(store.path(), run.id, nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const moescope::fuzz::InputFile file(data, size, ".moescope");
  try {
    moescope::SessionStore store(file.path(), moescope::SessionStore::Access::kRead);
    for (const auto& run : store.runs()) {
      try {
        read_run(store, run);
      } catch (const moescope::Error&) {
      }
      try {
        (void)moescope::rerun_experiment(run);
      } catch (const moescope::Error&) {
      }
    }
  } catch (const moescope::Error&) {
  }
  return 0;
}
