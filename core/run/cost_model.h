// The cost model of a backend on this machine: time(rows) = a + b * rows for one expert of a
// shape, and likewise for the dispatch (rows gathered), the combine (pairs summed) and the
// shared experts (tokens), fitted by least squares to calibration measurements (calibration.h).
// From the loads alone it gives a layer's timeline: what the paper's mechanism predicts (the
// layer waits for its busiest device), without the noise of a measurement.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/exec/backend.h"
#include "core/model/model_spec.h"
#include "core/moe/dispatch_plan.h"

namespace moescope {

// time(x) = intercept + slope * x, in ns.
struct LinearFit {
  double intercept_ns = 0;
  double slope_ns = 0;
  // The root mean square of the fit's relative errors over its points: 0.05 is "within 5%".
  double relative_rms = 0;
  std::vector<std::pair<double, double>> points;  // (x, measured ns)

  double at(double x) const { return intercept_ns + slope_ns * x; }
};

// Least squares in relative terms (each point weighted by 1 / its time squared), so that a
// 2-row expert fits as well as a 2000-row one. Needs two distinct x. Throws Error otherwise.
LinearFit fit_linear(const std::vector<std::pair<double, double>>& points);

struct CostModel {
  // What it was fitted for: the same machine and backend (Backend::machine()) and the shapes.
  std::string machine;
  std::string backend;
  int hidden = 0;
  int expert_ffn = 0;
  int shared_ffn = 0;     // 0 without shared experts
  std::string fitted_at;  // ISO 8601, UTC

  LinearFit expert;    // one routed expert, by its rows
  LinearFit dispatch;  // gathering the rows of every expert, by all rows
  LinearFit combine;   // the weighted sum back into token order, by kept pairs
  LinearFit shared;    // the shared experts, by tokens (zero when there are none)

  bool fits(const std::string& machine_name, const std::string& backend_name,
            const ModelSpec& spec) const;
};

// The durations the model predicts for one layer's plan, as a backend would report them
// measured: each expert with rows, the dispatch, the shared experts and the combine.
LayerExecution model_layer(const CostModel& model, const DispatchPlan& plan, bool shared_experts);

}  // namespace moescope
