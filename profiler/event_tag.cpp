#include "profiler/event_tag.h"

#include <stdexcept>
#include <string>

namespace moescope::profiler {

namespace {

constexpr int kPhaseBits = 4;
constexpr int kExpertBits = 13;
constexpr int kDeviceBits = 12;
constexpr int kLayerBits = 12;

std::uint64_t field(int value, int low, int high, const char* name) {
  if (value < low || value > high) {
    throw std::invalid_argument(std::string("event tag: ") + name + " " + std::to_string(value) +
                                " is outside " + std::to_string(low) + ".." + std::to_string(high));
  }
  return static_cast<std::uint64_t>(value - low);
}

int take(std::uint64_t& id, int bits) {
  const auto value = static_cast<int>(id & ((1ull << bits) - 1));
  id >>= bits;
  return value;
}

}  // namespace

std::uint64_t pack_tag(const EventTag& tag) {
  std::uint64_t id = field(tag.step, 0, kMaxTagStep, "step");
  id = (id << kLayerBits) | field(tag.layer, 0, kMaxTagLayer, "layer");
  id = (id << kDeviceBits) | field(tag.device, 0, kMaxTagDevice, "device");
  // The expert is stored plus one, so that -1 (no expert) packs as 0.
  id = (id << kExpertBits) | field(tag.expert, -1, kMaxTagExpert, "expert");
  id = (id << kPhaseBits) |
       field(static_cast<int>(tag.phase), 0, static_cast<int>(Phase::kWait), "phase");
  return id;
}

EventTag unpack_tag(std::uint64_t id) {
  EventTag tag;
  tag.phase = static_cast<Phase>(take(id, kPhaseBits));
  tag.expert = take(id, kExpertBits) - 1;
  tag.device = take(id, kDeviceBits);
  tag.layer = take(id, kLayerBits);
  tag.step = static_cast<int>(id);
  return tag;
}

}  // namespace moescope::profiler
