// The registry through which a backend makes itself known, so core never depends on kernels/:
// the CUDA backend registers itself, and programs ask for a backend by name.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/exec/backend.h"

namespace moescope {

// A backend is asked for as "name" or "name:options", e.g. "cuda:fp32,gpu=1"; the factory gets
// the options (empty when none) and throws Error on one it does not know.
using BackendFactory = std::function<std::unique_ptr<Backend>(const std::string& options)>;

void register_backend(const std::string& name, BackendFactory factory);
// The registered names, plus "auto".
std::vector<std::string> backend_names();
// Throws Error listing the available backends when the name is unknown, and the backend's own
// Error when it cannot start (no GPU, a driver too old). "auto" takes the first GPU backend
// that starts and otherwise the CPU; it never fails for want of a GPU.
std::unique_ptr<Backend> make_backend(const std::string& name);
// Whether `name` (options aside) names a registered backend or "auto"; constructs nothing.
bool is_backend_name(const std::string& name);

}  // namespace moescope
