#include "core/model/json_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base/error.h"

namespace moescope {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    throw Error(what + " '" + path + "' is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open " + what + " '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(path + ": the " + what + " file is empty");
  }
  return parse_json_text(text.str(), path);
}

nlohmann::json parse_json_text(
    const std::string& text, const std::string& where,
    const std::function<bool(int depth, nlohmann::json::parse_event_t event,
                             nlohmann::json& parsed)>& callback) {
  using Event = nlohmann::json::parse_event_t;
  // keys[d - 1]: the key read last at depth d ("" inside arrays): the field being read.
  std::vector<std::string> keys;
  const nlohmann::json::parser_callback_t track = [&](int depth, Event event,
                                                      nlohmann::json& parsed) {
    const auto level = static_cast<std::size_t>(std::max(depth, 0));
    if (event == Event::key) {
      keys.resize(std::max<std::size_t>(level, 1));
      keys.back() = parsed.is_string() ? parsed.get<std::string>() : std::string();
    } else if (event == Event::array_start) {
      keys.resize(level + 1);
    } else if (event == Event::object_end || event == Event::array_end) {
      keys.resize(std::min(keys.size(), level));
      if (!keys.empty()) keys.back().clear();  // that field's value is read: past it now
    } else if (event == Event::value && level >= 1 && keys.size() >= level) {
      keys[level - 1].clear();
    }
    return callback ? callback(depth, event, parsed) : true;
  };
  try {
    return nlohmann::json::parse(text, track);
  } catch (const nlohmann::json::exception& e) {
    std::string field;
    for (const auto& key : keys) {
      if (key.empty()) continue;
      field += (field.empty() ? "" : ".") + key;
    }
    // "[json.exception.out_of_range.406] number overflow..." without the library's tag.
    std::string reason = e.what();
    if (reason.rfind("[json.exception.", 0) == 0 && reason.find("] ") != std::string::npos) {
      reason = reason.substr(reason.find("] ") + 2);
    }
    throw Error(where + ": not valid JSON" + (field.empty() ? "" : " at field '" + field + "'") +
                " (" + reason + ")");
  }
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace moescope
