#include <map>
#include <mutex>

#include "core/backend.h"
#include "core/cpu_backend.h"
#include "core/error.h"

namespace moescope {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendFactory> factories{{"cpu", [] { return make_cpu_backend(); }}};
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_backend(const std::string& name, BackendFactory factory) {
  std::lock_guard lock(registry().mutex);
  registry().factories[name] = std::move(factory);
}

std::vector<std::string> backend_names() {
  std::lock_guard lock(registry().mutex);
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry().factories)
    names.push_back(name);
  return names;
}

std::unique_ptr<Backend> make_backend(const std::string& name) {
  std::lock_guard lock(registry().mutex);
  const auto it = registry().factories.find(name);
  if (it == registry().factories.end()) {
    std::string known;
    for (const auto& [n, f] : registry().factories)
      known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown backend '" + name + "' (available: " + known + ")");
  }
  return it->second();
}

}  // namespace moescope
