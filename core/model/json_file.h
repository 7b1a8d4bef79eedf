// Reading a JSON file a user names (a model spec, a request): every failure names the file.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace moescope {

// `what` names the kind of file in errors ("model spec", "request"). Throws Error for a path
// that is not a regular file or cannot be read, an empty file, or text that is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

}  // namespace moescope
