// Model specs as JSON: the format `moescope-cli spec` prints and `run --spec` reads.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/model/model_spec.h"

namespace moescope {

nlohmann::json spec_to_json(const ModelSpec& spec);

// Reads and validates; throws Error naming the field (and `where`, e.g. the file name).
ModelSpec spec_from_json(const nlohmann::json& json, const std::string& where);

ModelSpec load_spec_file(const std::string& path);
void save_spec_file(const ModelSpec& spec, const std::string& path);

}  // namespace moescope
