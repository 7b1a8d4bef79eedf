#include <map>
#include <mutex>

#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "core/exec/cpu_backend.h"

namespace moescope {

namespace {

// The GPU backends "auto" tries, in order, before it settles for the CPU.
constexpr const char* kAutoOrder[] = {"cuda-grouped", "cuda"};

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendFactory> factories{
      {"cpu",
       [](const std::string& options) { return make_cpu_backend(parse_cpu_options(options)); }}};
};

Registry& registry() {
  static Registry r;
  return r;
}

struct BackendRequest {
  std::string name;
  std::string options;
};

BackendRequest split_request(const std::string& request) {
  const auto colon = request.find(':');
  if (colon == std::string::npos) return {request, ""};
  return {request.substr(0, colon), request.substr(colon + 1)};
}

std::string known_names() {
  std::string known = "auto";
  for (const auto& [n, f] : registry().factories)
    known += ", " + n;
  return known;
}

}  // namespace

void register_backend(const std::string& name, BackendFactory factory) {
  std::lock_guard lock(registry().mutex);
  registry().factories[name] = std::move(factory);
}

std::vector<std::string> backend_names() {
  std::lock_guard lock(registry().mutex);
  std::vector<std::string> names{"auto"};
  for (const auto& [name, factory] : registry().factories)
    names.push_back(name);
  return names;
}

bool is_backend_name(const std::string& name) {
  const BackendRequest request = split_request(name);
  std::lock_guard lock(registry().mutex);
  return request.name == "auto" || registry().factories.count(request.name) > 0;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  const BackendRequest request = split_request(name);
  BackendFactory factory;
  std::vector<BackendFactory> gpu_factories;
  {
    std::lock_guard lock(registry().mutex);
    if (request.name == "auto") {
      if (!request.options.empty()) throw Error("backend 'auto' takes no options");
      for (const char* gpu : kAutoOrder) {
        const auto it = registry().factories.find(gpu);
        if (it != registry().factories.end()) gpu_factories.push_back(it->second);
      }
      factory = registry().factories.at("cpu");
    } else {
      const auto it = registry().factories.find(request.name);
      if (it == registry().factories.end()) {
        throw Error("unknown backend '" + request.name + "' (available: " + known_names() + ")");
      }
      factory = it->second;
    }
  }
  // Outside the lock: a GPU backend's start takes a while and may register nothing.
  for (const auto& gpu : gpu_factories) {
    try {
      return gpu("");
    } catch (const Error&) {
      // No usable GPU: "auto" means the CPU will do.
    }
  }
  return factory(request.options);
}

}  // namespace moescope
