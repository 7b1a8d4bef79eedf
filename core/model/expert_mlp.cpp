#include "core/model/expert_mlp.h"

#include <cmath>
#include <sstream>

#include "core/base/error.h"
#include "core/base/named_values.h"

namespace moescope {

namespace {

constexpr NamedValue<ExpertActivation> kActivations[] = {
    {"swiglu", ExpertActivation::kSwiglu}, {"clamped_swiglu", ExpertActivation::kClampedSwiglu}};

}  // namespace

std::string activation_name(ExpertActivation activation) {
  return name_of(activation, kActivations);
}

ExpertActivation parse_activation(const std::string& name) {
  return parse_named(name, kActivations, "expert activation");
}

void validate(const ExpertMlp& mlp) {
  if (!mlp.clamped()) return;
  for (auto [field, value] : {std::pair{"swiglu_alpha", static_cast<float>(mlp.swiglu_alpha)},
                              std::pair{"swiglu_limit", static_cast<float>(mlp.swiglu_limit)}}) {
    if (!std::isfinite(value) || !(value > 0.0f)) {
      std::ostringstream given;
      given << (field == std::string("swiglu_alpha") ? mlp.swiglu_alpha : mlp.swiglu_limit);
      throw Error(std::string("expert activation: '") + field +
                  "' must be a finite number > 0 (in fp32), got " + given.str());
    }
  }
}

std::string describe(const ExpertMlp& mlp) {
  std::ostringstream out;
  if (mlp.clamped()) {
    out << "clamped SwiGLU (alpha " << mlp.swiglu_alpha << ", limit " << mlp.swiglu_limit << ")";
  } else {
    out << "SwiGLU";
  }
  if (mlp.biases) out << " with biases";
  return out.str();
}

}  // namespace moescope
