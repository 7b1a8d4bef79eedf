#include "core/moe/placement.h"

#include "core/base/error.h"
#include "core/moe/routing_math.h"

namespace moescope {

std::vector<int> Placement::experts_on(int dev) const {
  std::vector<int> out;
  for (int e = 0; e < experts(); ++e) {
    if (device(e) == dev) out.push_back(e);
  }
  return out;
}

Placement balanced_placement(int experts, int devices) {
  if (devices < 1 || devices > experts) {
    throw Error("devices must be between 1 and the number of experts (" + std::to_string(experts) +
                "), got " + std::to_string(devices));
  }
  Placement p;
  p.devices = devices;
  p.device_of_expert.resize(static_cast<std::size_t>(experts));
  for (int e = 0; e < experts; ++e) {
    p.device_of_expert[static_cast<std::size_t>(e)] =
        routing::balanced_device_of_expert(e, devices, experts);
  }
  return p;
}

Placement explicit_placement(const std::vector<int>& device_of_expert, int devices) {
  if (devices < 1 || devices > static_cast<int>(device_of_expert.size())) {
    throw Error("devices must be between 1 and the number of experts (" +
                std::to_string(device_of_expert.size()) + "), got " + std::to_string(devices));
  }
  for (std::size_t e = 0; e < device_of_expert.size(); ++e) {
    if (device_of_expert[e] < 0 || device_of_expert[e] >= devices) {
      throw Error("placement: expert " + std::to_string(e) + " is on device " +
                  std::to_string(device_of_expert[e]) + ", outside 0.." +
                  std::to_string(devices - 1));
    }
  }
  return Placement{devices, device_of_expert};
}

}  // namespace moescope
