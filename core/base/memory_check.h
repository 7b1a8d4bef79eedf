// Refuses work that cannot fit in memory with a message, instead of dying in the allocator.
#pragma once

#include <cstdint>
#include <string>

namespace moescope {

// Bytes the machine can still give (MemAvailable), or 0 when unknown.
std::uint64_t available_memory_bytes();

// Throws Error when `needed` exceeds 90% of the available memory; `what` and `hint` go into the
// message, e.g. "this run" and "use fewer --tokens or a larger --scale".
void require_memory(std::uint64_t needed, const std::string& what, const std::string& hint);

std::string format_bytes(std::uint64_t bytes);

}  // namespace moescope
