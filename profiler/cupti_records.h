// Decoding CUPTI's raw activity records into plain ActivityRecords. Kept apart from the
// collector so that tests can hand it records built in memory (no GPU needed).
#pragma once

#include <cupti.h>

#include <vector>

#include "profiler/activity.h"

namespace moescope::profiler {

struct DecodedActivity {
  std::vector<ActivityRecord> records;
  std::vector<ExternalCorrelation> correlations;
};

// Appends what `record` says to `out`; returns false for kinds MoEScope does not trace.
bool decode_activity(const CUpti_Activity& record, DecodedActivity& out);

// The name MoEScope gives a copy: "memcpy HtoD", "memcpy DtoH", "memcpy DtoD", "memcpy PtoP" or
// "memcpy" for the other kinds.
const char* memcpy_name(std::uint8_t copy_kind);

}  // namespace moescope::profiler
