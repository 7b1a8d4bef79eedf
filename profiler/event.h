// The event model shared by every collector (CPU timer today; CUDA events and CUPTI later):
// one span of work with integer nanoseconds and the tags that say what it belonged to.
#pragma once

#include <cstdint>
#include <string_view>

namespace moescope::profiler {

// The phases of one MoE layer, in the order they run. kWait is a rank waiting at an all-to-all
// for the slowest rank (measured timelines only; composed ones draw waiting as idle gaps).
enum class Phase : std::uint8_t {
  kGating,
  kPolicy,
  kDispatch,
  kExpert,
  kSharedExpert,
  kCombine,
  kWait
};
inline constexpr int kPhaseCount = 7;

std::string_view phase_name(Phase phase);

// Where a timeline came from: measured on the devices it shows; composed from durations
// measured one expert at a time (virtual devices); or modeled from the loads alone through a
// cost model fitted to this machine (deterministic: the same routing, the same timeline).
enum class Timing : std::uint8_t { kMeasured, kComposed, kModeled };

std::string_view timing_name(Timing timing);
// "measured", "composed" or "modeled"; false for anything else.
bool parse_timing(std::string_view name, Timing& timing);

// Far beyond any real run (2^62 ns is 146 years), and it keeps every difference and every sum
// of two times inside int64: times outside it are a damaged or crafted file.
inline constexpr std::int64_t kMaxTimeNs = std::int64_t{1} << 62;
inline bool times_in_range(std::int64_t start_ns, std::int64_t end_ns) {
  return start_ns > -kMaxTimeNs && end_ns < kMaxTimeNs && start_ns <= end_ns;
}

// A sum of durations that stops at the int64 limit: crafted spans may overlap, and their
// durations then add up past any real time.
inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? INT64_MAX : INT64_MIN;
}

struct Event {
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  int device = 0;
  int stream = 0;
  int step = 0;
  int layer = 0;
  int expert = -1;  // -1 when the span belongs to no single expert
  Phase phase = Phase::kExpert;

  std::int64_t duration_ns() const { return end_ns - start_ns; }
};

}  // namespace moescope::profiler
