// What a run saves in one layer against another run (the A/B timeline's marks): the difference
// of the stored median latencies, called a change only when the two 95% intervals leave each
// other out, as speedups are (a one-repeat interval has no width: no spread seen, no change).
#pragma once

#include <string>

#include "core/run/run_rows.h"

namespace moescope::viewdata {

struct LayerSaving {
  double saved_ns = 0;        // other minus shown: positive when the shown run is faster
  double saved_fraction = 0;  // of the other run's latency
  bool significant = false;   // the intervals do not overlap
  bool one_repeat = false;    // either side was timed once: no interval to judge by
};

LayerSaving layer_saving(const LayerStatRow& shown, const LayerStatRow& other);

// "saves 412 µs (12%)", "costs 1.2 ms (+3.0%)", "no significant change", and for one repeat
// "saves 412 µs (12%), one repeat".
std::string saving_text(const LayerSaving& saving);

}  // namespace moescope::viewdata
