#include "app/gui/number_list.h"

#include <charconv>

#include "core/base/error.h"

namespace moescope::gui {

std::vector<int> parse_number_list(const std::string& text, const std::string& what,
                                   const std::string& example) {
  std::vector<int> out;
  std::size_t pos = 0;
  const auto trimmed_end = text.find_last_not_of(" \t");
  if (trimmed_end == std::string::npos) return out;
  while (pos <= trimmed_end) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos || comma > trimmed_end) comma = trimmed_end + 1;
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < 0) {
      throw Error(what + ": item " + std::to_string(out.size() + 1) + " ('" + item +
                  "') is not a number; write them comma separated, e.g. " + example);
    }
    out.push_back(value);
    pos = comma + 1;
  }
  return out;
}

std::string format_number_list(const std::vector<int>& values) {
  std::string out;
  for (int v : values)
    out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

}  // namespace moescope::gui
