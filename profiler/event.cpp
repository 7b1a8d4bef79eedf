#include "profiler/event.h"

namespace moescope::profiler {

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::kGating:
      return "gating";
    case Phase::kPolicy:
      return "policy";
    case Phase::kDispatch:
      return "dispatch";
    case Phase::kExpert:
      return "expert";
    case Phase::kSharedExpert:
      return "shared_expert";
    case Phase::kCombine:
      return "combine";
  }
  return "unknown";
}

std::string_view timing_name(Timing timing) {
  return timing == Timing::kMeasured ? "measured" : "composed";
}

}  // namespace moescope::profiler
