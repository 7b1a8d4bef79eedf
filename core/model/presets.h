// The model presets: the MoE shapes of public models, from their Hugging Face configs
// (shared/REFERENCE.md lists them).
#pragma once

#include <string>
#include <vector>

#include "core/model/model_spec.h"

namespace moescope {

std::vector<std::string> preset_names();
ModelSpec preset(const std::string& name);  // throws Error listing the known names

}  // namespace moescope
