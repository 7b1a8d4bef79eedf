#include "app/cli/run_ids.h"

#include <algorithm>
#include <charconv>

#include "core/base/error.h"

namespace moescope::cli {

namespace {

bool parse_id(const std::string& text, std::int64_t& id) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, id);
  return ec == std::errc() && ptr == end && id >= 1;
}

}  // namespace

std::vector<std::int64_t> parse_run_ids(const std::vector<std::string>& items) {
  std::vector<std::int64_t> ids;
  const auto add = [&ids](std::int64_t id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (const std::string& item : items) {
    const auto dash = item.find('-', 1);
    std::int64_t first = 0, last = 0;
    if (dash == std::string::npos) {
      if (!parse_id(item, first)) {
        throw Error("run '" + item + "' is not a run id (1, 2, ...) or a range of them (1-19)");
      }
      add(first);
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
      add(id);
  }
  return ids;
}

}  // namespace moescope::cli
