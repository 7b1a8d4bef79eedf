// An experiment as JSON: what `moescope-cli run --print-request` prints and `--request FILE`
// reads, and what the session stores with every run (runs.request_json). Reading is strict: an
// unknown field, a wrong type or an impossible value is refused, naming the field.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/run/experiment.h"

namespace moescope {

nlohmann::json experiment_to_json(const Experiment& experiment);

// `where` names the source in errors (a file name, "run 12"). Also reads the request that
// sessions of schema 3 and older stored (one policy, the routing as a description such as
// "synthetic(seed=0, skew=0.6)"), so their runs can be run again.
Experiment experiment_from_json(const nlohmann::json& json, const std::string& where);

Experiment load_experiment_file(const std::string& path);

}  // namespace moescope
