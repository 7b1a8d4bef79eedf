#include "app/viewdata/loaded_run.h"

#include "core/session/session_store.h"

namespace moescope::viewdata {

LoadedRun load_run(const std::string& session_path, std::int64_t id, const CancelFlag* cancel) {
  SessionStore store(session_path, SessionStore::Access::kRead);
  LoadedRun out;
  out.data = load_run_data(store, id);
  throw_if_cancelled(cancel);
  try {
    out.cube = std::make_shared<const LoadCube>(LoadCube::from_rows(store.expert_loads(id)));
    const auto slots = store.replica_slots(id);
    if (!slots.empty()) {
      out.slot_cube = std::make_shared<const LoadCube>(LoadCube::from_slot_rows(slots));
      for (const auto& s : slots) {
        if (s.step == slots.front().step) out.slot_expert[s.layer].push_back(s.expert);
      }
    }
  } catch (const Error& e) {
    out.cube_error = e.what();
  }
  throw_if_cancelled(cancel);
  try {
    out.timeline =
        std::make_shared<const TimelineData>(TimelineData::build(store.spans(id), out.data.layers));
  } catch (const Error& e) {
    out.timeline_error = e.what();
  }
  return out;
}

std::vector<RunData> load_summaries(const std::string& session_path,
                                    const std::vector<std::int64_t>& ids,
                                    const CancelFlag* cancel) {
  SessionStore store(session_path, SessionStore::Access::kRead);
  std::vector<RunData> out;
  for (std::int64_t id : ids) {
    throw_if_cancelled(cancel);
    out.push_back(load_run_data(store, id));
  }
  return out;
}

}  // namespace moescope::viewdata
