// Where experts live: one device (real or virtual) per expert.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

struct Placement {
  int devices = 1;
  std::vector<int> device_of_expert;  // [E]

  int device(int expert) const { return device_of_expert[static_cast<std::size_t>(expert)]; }
  int experts() const { return static_cast<int>(device_of_expert.size()); }
  // The experts of one device, ascending.
  std::vector<int> experts_on(int device) const;
};

// Balanced contiguous blocks, dev(e) = (e * D) / E. Throws Error unless 1 <= D <= E.
Placement balanced_placement(int experts, int devices);

// An explicit map, e.g. parsed from "0,0,1,1"; throws Error naming a bad entry.
Placement explicit_placement(const std::vector<int>& device_of_expert, int devices);

}  // namespace moescope
