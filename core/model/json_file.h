// JSON in and out: reading a file a user names (a model spec, a request) or text from a file
// (a safetensors header), every failure naming the file and the field; and writing JSON text
// that never fails on what a session already holds.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace moescope {

// `what` names the kind of file in errors ("model spec", "request"). Throws Error for a path
// that is not a regular file or cannot be read, an empty file, or text that is not JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

// Parses `text`; on failure throws Error "`where`: not valid JSON at field 'a.b' (reason)", the
// field being the innermost key read before the failure, and the reason without the JSON
// library's exception tags. `callback` is passed to the parser as nlohmann::json::parse takes it.
nlohmann::json parse_json_text(
    const std::string& text, const std::string& where,
    const std::function<bool(int depth, nlohmann::json::parse_event_t event,
                             nlohmann::json& parsed)>& callback = nullptr);

// `j` as text (`indent` as nlohmann::json::dump takes it), with any bytes that are not UTF-8
// (a name written by another tool) shown as U+FFFD instead of failing the whole output.
std::string json_text(const nlohmann::json& j, int indent = -1);

}  // namespace moescope
