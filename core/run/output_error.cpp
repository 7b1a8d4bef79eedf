#include "core/run/output_error.h"

#include <cmath>

namespace moescope {

double relative_error(const std::vector<float>& y, const std::vector<float>& reference) {
  double diff = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double d = static_cast<double>(y[i]) - reference[i];
    diff += d * d;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  // A policy's output that overflows fp32 (a pair the baseline never ran) is infinitely wrong,
  // not NaN, which no session can store.
  if (!std::isfinite(diff)) return INFINITY;
  if (norm == 0.0) return diff == 0.0 ? 0.0 : INFINITY;
  return std::sqrt(diff / norm);
}

}  // namespace moescope
