// What a GPU kernel belonged to (step, layer, device, expert, phase), packed into the 64-bit
// external correlation id that CUPTI hands back with every kernel launched under it.
#pragma once

#include <cstdint>

#include "profiler/event.h"

namespace moescope::profiler {

struct EventTag {
  int step = 0;
  int layer = 0;
  int device = 0;
  int expert = -1;  // -1: no single expert
  Phase phase = Phase::kExpert;

  bool operator==(const EventTag&) const = default;
};

// The largest values a tag can carry (bits: step 23, layer 12, device 12, expert 13, phase 4).
inline constexpr int kMaxTagStep = (1 << 23) - 1;
inline constexpr int kMaxTagLayer = (1 << 12) - 1;
inline constexpr int kMaxTagDevice = (1 << 12) - 1;
inline constexpr int kMaxTagExpert = (1 << 13) - 2;

// Throws std::invalid_argument naming the field that does not fit.
std::uint64_t pack_tag(const EventTag& tag);
EventTag unpack_tag(std::uint64_t id);

}  // namespace moescope::profiler
