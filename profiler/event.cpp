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
    case Phase::kWait:
      return "wait";
  }
  return "unknown";
}

std::string_view timing_name(Timing timing) {
  switch (timing) {
    case Timing::kMeasured:
      return "measured";
    case Timing::kComposed:
      return "composed";
    case Timing::kModeled:
      return "modeled";
  }
  return "unknown";
}

bool parse_timing(std::string_view name, Timing& timing) {
  for (Timing t : {Timing::kMeasured, Timing::kComposed, Timing::kModeled}) {
    if (name == timing_name(t)) {
      timing = t;
      return true;
    }
  }
  return false;
}

}  // namespace moescope::profiler
