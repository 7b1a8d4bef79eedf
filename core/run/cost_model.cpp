#include "core/run/cost_model.h"

#include <cmath>
#include <set>

#include "core/base/error.h"

namespace moescope {

LinearFit fit_linear(const std::vector<std::pair<double, double>>& points) {
  std::set<double> xs;
  for (const auto& [x, t] : points)
    xs.insert(x);
  if (xs.size() < 2) throw Error("a cost model needs measurements at two or more sizes");
  // Weighted normal equations with w = 1 / t^2.
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const auto& [x, t] : points) {
    const double w = 1.0 / std::max(t * t, 1.0);
    sw += w, sx += w * x, sy += w * t, sxx += w * x * x, sxy += w * x * t;
  }
  LinearFit fit;
  const double det = sw * sxx - sx * sx;
  fit.slope_ns = (sw * sxy - sx * sy) / det;
  fit.intercept_ns = (sy - fit.slope_ns * sx) / sw;
  double sum = 0;
  for (const auto& [x, t] : points) {
    const double r = (fit.at(x) - t) / std::max(t, 1.0);
    sum += r * r;
  }
  fit.relative_rms = std::sqrt(sum / static_cast<double>(points.size()));
  fit.points = points;
  return fit;
}

bool CostModel::fits(const std::string& machine_name, const std::string& backend_name,
                     const ModelSpec& spec) const {
  return machine == machine_name && backend == backend_name && hidden == spec.hidden &&
         expert_ffn == spec.expert_ffn &&
         shared_ffn == (spec.shared_experts > 0 ? spec.shared_ffn : 0);
}

namespace {

std::int64_t predict(const LinearFit& fit, double x) {
  return static_cast<std::int64_t>(std::llround(std::max(0.0, fit.at(x))));
}

}  // namespace

LayerExecution model_layer(const CostModel& model, const DispatchPlan& plan, bool shared_experts) {
  LayerExecution out;
  out.expert_ns.assign(static_cast<std::size_t>(plan.experts), 0);
  for (int e = 0; e < plan.experts; ++e) {
    const std::int64_t rows = plan.rows_of(e);
    if (rows > 0) {
      // An expert that runs costs at least a nanosecond, so that "it ran" stays visible.
      out.expert_ns[static_cast<std::size_t>(e)] =
          std::max<std::int64_t>(1, predict(model.expert, static_cast<double>(rows)));
    }
  }
  const auto rows = static_cast<double>(plan.row_token.size());
  out.dispatch_ns = predict(model.dispatch, rows);
  out.combine_ns = predict(model.combine, rows);
  if (shared_experts) out.shared_ns = predict(model.shared, static_cast<double>(plan.tokens));
  return out;
}

}  // namespace moescope
