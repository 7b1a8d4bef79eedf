// Everything the single-run views show of one stored run, read and built in one go so that it
// can happen off the GUI thread: the summary, the loads as a cube and the timeline's lanes. The
// loads and the spans are read apart, so one damaged table hides only its own view.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/viewdata/load_cube.h"
#include "app/viewdata/run_data.h"
#include "app/viewdata/timeline_spans.h"
#include "core/base/cancel.h"

namespace moescope::viewdata {

struct LoadedRun {
  RunData data;
  std::shared_ptr<const LoadCube> cube;  // null when the loads could not be read
  std::string cube_error;
  // A replicated run's physical slots (null for other runs), and each layer's plan: the
  // logical expert of every slot, by layer number.
  std::shared_ptr<const LoadCube> slot_cube;
  std::map<int, std::vector<int>> slot_expert;
  std::shared_ptr<const TimelineData> timeline;  // null when the spans could not be read
  std::string timeline_error;
};

// Opens the session for reading on the calling thread. Throws Error when the run itself cannot
// be read, Cancelled between stages once `cancel` is set.
LoadedRun load_run(const std::string& session_path, std::int64_t id, const CancelFlag* cancel);

// The summaries (RunData) of runs of one session, in the order asked.
std::vector<RunData> load_summaries(const std::string& session_path,
                                    const std::vector<std::int64_t>& ids, const CancelFlag* cancel);

}  // namespace moescope::viewdata
