// A finished run as JSON: what `moescope-cli run --format json` prints.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/moe/policy_config.h"
#include "core/run/runner.h"

namespace moescope {

nlohmann::json policy_config_to_json(const PolicyConfig& config);
// Reads what policy_config_to_json wrote; throws Error naming `where` and the field.
PolicyConfig policy_config_from_json(const nlohmann::json& json, const std::string& where);
nlohmann::json run_to_json(const RunResult& result);

}  // namespace moescope
