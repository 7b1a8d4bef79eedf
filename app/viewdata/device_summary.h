// Which device a run waits for: per device, its busy time in the expert phase, how often it was
// the layer's straggler, how long it sat idle at the barrier, and its busiest experts, from the
// run's timeline (the CLI prints the same from a fresh run: "Where the expert time went").
#pragma once

#include <vector>

#include "app/viewdata/timeline_spans.h"

namespace moescope::viewdata {

struct DeviceSummaryRow {
  struct Expert {
    int expert = 0;
    double ns = 0;  // mean per layer
  };
  int device = 0;
  double busy_ns = 0;          // routed and shared expert spans, mean per layer
  double straggler_share = 0;  // of the layers, the fraction this device finished last
  double idle_share = 0;       // of the layers' expert phases, the fraction it waited
  // The first (step, layer) it was the straggler in, by timeline slot; -1 when never.
  int first_straggler_slot = -1;
  std::vector<Expert> busiest;  // its routed experts by time, at most kBusiest
};

inline constexpr int kBusiest = 3;

std::vector<DeviceSummaryRow> summarize_devices(const TimelineData& timeline);

}  // namespace moescope::viewdata
