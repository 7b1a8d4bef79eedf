#include "app/viewdata/layer_saving.h"

#include <cmath>
#include <cstdio>

#include "app/viewdata/metric_text.h"

namespace moescope::viewdata {

LayerSaving layer_saving(const LayerStatRow& shown, const LayerStatRow& other) {
  LayerSaving saving;
  saving.saved_ns = static_cast<double>(other.latency_ns - shown.latency_ns);
  saving.saved_fraction =
      other.latency_ns > 0 ? saving.saved_ns / static_cast<double>(other.latency_ns) : 0;
  saving.one_repeat = !(shown.latency_low_ns < shown.latency_high_ns) ||
                      !(other.latency_low_ns < other.latency_high_ns);
  saving.significant = !saving.one_repeat && (shown.latency_high_ns < other.latency_low_ns ||
                                              shown.latency_low_ns > other.latency_high_ns);
  return saving;
}

std::string saving_text(const LayerSaving& saving) {
  if (!saving.one_repeat && !saving.significant) return "no significant change";
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.1f%%", 100 * std::abs(saving.saved_fraction));
  std::string text = saving.saved_ns >= 0 ? "saves " : "costs ";
  text += format_duration(std::abs(saving.saved_ns)) + " (" + (saving.saved_ns >= 0 ? "" : "+") +
          percent + ")";
  if (saving.one_repeat) text += ", one repeat";
  return text;
}

}  // namespace moescope::viewdata
