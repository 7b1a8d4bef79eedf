// Enum values by the names the CLI and the JSON spell them, from one table per enum, so that the
// parser's error lists exactly the names the printer writes.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/error.h"

namespace moescope {

template <typename Enum>
struct NamedValue {
  const char* name;
  Enum value;
};

// Throws Error "unknown WHAT 'NAME' (expected one of: a, b, c)".
template <typename Enum, std::size_t N>
Enum parse_named(const std::string& name, const NamedValue<Enum> (&table)[N], const char* what) {
  std::string known;
  for (const auto& entry : table) {
    if (name == entry.name) return entry.value;
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw Error("unknown " + std::string(what) + " '" + name + "' (expected one of: " + known + ")");
}

template <typename Enum, std::size_t N>
std::string name_of(Enum value, const NamedValue<Enum> (&table)[N]) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

}  // namespace moescope
