// Calibrating a cost model (cost_model.h) for a backend on this machine: a few experts of the
// model's shape run with 1, 2, 4, ... rows each, every size timed several times, and a line
// fitted through the medians. Seconds for a scaled model, about a minute for a full-size one.
#pragma once

#include "core/base/cancel.h"
#include "core/exec/backend.h"
#include "core/model/model_spec.h"
#include "core/run/cost_model.h"

namespace moescope {

struct CalibrationOptions {
  // The token count the model is for: the largest size measured is a few times the rows an
  // expert gets at it (T * k / E), so the fit covers the hot experts too.
  int tokens = 1024;
  int repeats = 3;
  int experts = 8;  // run side by side at every size: the shape is what the time depends on
};

// Throws Error on a spec it cannot run, Cancelled between sizes when `cancel` is set.
CostModel calibrate(Backend& backend, const ModelSpec& spec, const CalibrationOptions& options,
                    const ProgressFn& progress, const CancelFlag* cancel);

// The sizes (rows per expert) a calibration measures for these options, ascending.
std::vector<int> calibration_rows(const ModelSpec& spec, const CalibrationOptions& options);

}  // namespace moescope
