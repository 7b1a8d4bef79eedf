#include "app/gui/number_list.h"

#include <charconv>
#include <cmath>

#include "core/base/error.h"

namespace moescope::gui {

namespace {

// The comma-separated items of `text`, trimmed; none for blank text.
std::vector<std::string> items_of(const std::string& text) {
  std::vector<std::string> out;
  const auto trimmed_end = text.find_last_not_of(" \t");
  if (trimmed_end == std::string::npos) return out;
  std::size_t pos = 0;
  while (pos <= trimmed_end) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos || comma > trimmed_end) comma = trimmed_end + 1;
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    out.push_back(item);
    pos = comma + 1;
  }
  return out;
}

[[noreturn]] void not_a_number(const std::string& what, std::size_t index, const std::string& item,
                               const std::string& example) {
  throw Error(what + ": item " + std::to_string(index + 1) + " ('" + item +
              "') is not a number; write them comma separated, e.g. " + example);
}

}  // namespace

std::vector<int> parse_number_list(const std::string& text, const std::string& what,
                                   const std::string& example) {
  std::vector<int> out;
  for (const std::string& item : items_of(text)) {
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < 0) {
      not_a_number(what, out.size(), item, example);
    }
    out.push_back(value);
  }
  return out;
}

std::vector<double> parse_positive_list(const std::string& text, const std::string& what,
                                        const std::string& example) {
  std::vector<double> out;
  for (const std::string& item : items_of(text)) {
    double value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() ||
        !std::isfinite(value) || !(value > 0)) {
      throw Error(what + ": item " + std::to_string(out.size() + 1) + " ('" + item +
                  "') is not a number above 0; write them comma separated, e.g. " + example);
    }
    out.push_back(value);
  }
  return out;
}

std::string format_positive_list(const std::vector<double>& values) {
  std::string out;
  for (double v : values) {
    char text[32];
    const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
    out += (out.empty() ? "" : ",") + std::string(text, ec == std::errc() ? end : text);
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
