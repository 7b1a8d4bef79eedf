#include "app/cli/run_ids.h"

#include <charconv>
#include <unordered_set>

#include "core/base/error.h"

namespace moescope::cli {

namespace {

bool parse_id(const std::string& text, std::int64_t& id) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, id);
  return ec == std::errc() && ptr == end && id >= 1;
}

}  // namespace

RunIds parse_run_ids(const std::vector<std::string>& items) {
  RunIds out;
  std::unordered_set<std::int64_t> seen;
  const auto add = [&](std::int64_t id, bool range) {
    if (!seen.insert(id).second) return;
    if (static_cast<std::int64_t>(out.ids.size()) >= kMaxRunIds) {
      throw Error("the runs given name more than " + std::to_string(kMaxRunIds) + " ids");
    }
    out.ids.push_back(id);
    out.from_range.push_back(range);
  };
  for (const std::string& item : items) {
    const auto dash = item.find('-', 1);
    std::int64_t first = 0, last = 0;
    if (dash == std::string::npos) {
      if (!parse_id(item, first)) {
        throw Error("run '" + item + "' is not a run id (1, 2, ...) or a range of them (1-19)");
      }
      add(first, false);
      continue;
    }
    if (!parse_id(item.substr(0, dash), first) || !parse_id(item.substr(dash + 1), last) ||
        last < first) {
      throw Error("run range '" + item + "' must be FIRST-LAST with 1 <= FIRST <= LAST");
    }
    if (last - first >= kMaxRunIds) {
      throw Error("run range '" + item + "' spans more than " + std::to_string(kMaxRunIds) +
                  " runs");
    }
    for (std::int64_t id = first; id <= last; ++id)
      add(id, true);
  }
  return out;
}

}  // namespace moescope::cli
