// The output error of a policy: how far its layer output is from the baseline's on the same
// input (shared/ALGORITHMS.md, Metrics).
#pragma once

#include <vector>

namespace moescope {

// ‖y − reference‖₂ / ‖reference‖₂ in double precision; 0 when both are zero, infinity when only
// the reference is.
double relative_error(const std::vector<float>& y, const std::vector<float>& reference);

}  // namespace moescope
