// Exports of one stored run: loads and metrics as CSV or JSON, and the kernel timeline as
// Chrome trace-event JSON (Perfetto UI and chrome://tracing open it).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/session/session_store.h"

namespace moescope {

enum class ExportFormat { kCsv, kJson, kChromeTrace };

ExportFormat parse_export_format(const std::string& name);  // csv, json, chrome-trace

// One row per (step, layer, expert): loads, compute time and the layer's metrics.
std::string export_csv(SessionStore& store, std::int64_t run);
nlohmann::json export_json(SessionStore& store, std::int64_t run);
// One process per device, one thread per stream, complete ("X") events with step, layer,
// expert and phase in args, and a counter track of each layer's per-expert load.
nlohmann::json export_chrome_trace(SessionStore& store, std::int64_t run);

// Writes to a temporary file beside `path` and renames it, so a failed export never leaves a
// half-written file behind.
void export_run(SessionStore& store, std::int64_t run, ExportFormat format,
                const std::string& path);

}  // namespace moescope
