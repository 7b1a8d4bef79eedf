// Run ids as the commands take them: "7", or a range "1-19".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::cli {

struct RunIds {
  std::vector<std::int64_t> ids;  // in the order given, each once
  std::vector<bool> from_range;   // per id: named by a range (may be a deleted run), not alone
};

// Throws Error naming the item that is not an id or an ascending range of ids, or when the
// items name more than kMaxRunIds ids in all.
RunIds parse_run_ids(const std::vector<std::string>& items);

inline constexpr std::int64_t kMaxRunIds = 100000;

}  // namespace moescope::cli
