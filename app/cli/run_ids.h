// Run ids as the commands take them: "7", or a range "1-19".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::cli {

// The ids in the order given, each once. Throws Error naming the item that is not an id or an
// ascending range of ids, or a range past kMaxRunIds ids.
std::vector<std::int64_t> parse_run_ids(const std::vector<std::string>& items);

inline constexpr std::int64_t kMaxRunIds = 100000;

}  // namespace moescope::cli
