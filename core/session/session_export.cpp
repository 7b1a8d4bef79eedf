#include "core/session/session_export.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/model/json_file.h"

namespace moescope {

using nlohmann::json;

ExportFormat parse_export_format(const std::string& name) {
  if (name == "csv") return ExportFormat::kCsv;
  if (name == "json") return ExportFormat::kJson;
  if (name == "chrome-trace") return ExportFormat::kChromeTrace;
  throw Error("unknown export format '" + name + "' (expected one of: csv, json, chrome-trace)");
}

std::string export_csv(SessionStore& store, std::int64_t run) {
  const StoredRun info = store.run(run);
  std::map<std::pair<int, int>, LayerStatRow> layers;
  for (const auto& l : store.layer_stats(run))
    layers[{l.step, l.layer}] = l;
  std::ostringstream out;
  out << "run,step,layer,expert,device,routed,kept,dropped,added,compute_ns,layer_latency_ns,"
         "imbalance_routed,imbalance_kept,drop_rate,output_error\n";
  for (const auto& e : store.expert_loads(run)) {
    const LayerStatRow& l = layers[{e.step, e.layer}];
    out << info.id << ',' << e.step << ',' << e.layer << ',' << e.expert << ',' << e.device << ','
        << e.routed << ',' << e.kept << ',' << e.dropped << ',' << e.added << ',' << e.compute_ns
        << ',' << l.latency_ns << ',' << l.imbalance_routed << ',' << l.imbalance_kept << ','
        << l.drop_rate << ',' << l.output_error << '\n';
  }
  return out.str();
}

namespace {

// Stored JSON text as a value: null when empty or not JSON (a damaged row must not stop the
// export of everything else).
json json_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

}  // namespace

json export_json(SessionStore& store, std::int64_t run) {
  const StoredRun r = store.run(run);
  json j = {{"id", r.id},
            {"name", r.name},
            {"created_at", r.created_at},
            {"finished_at", r.finished_at},
            {"status", r.status},
            {"tool_version", r.tool_version},
            {"model", r.model},
            {"policy", r.policy},
            {"policy_kind", r.policy_kind},
            {"devices", r.devices},
            {"tokens", r.tokens},
            {"steps", r.steps},
            {"backend", r.backend},
            {"timing", r.timing},
            {"collector", r.collector},
            {"machine", r.machine},
            {"backend_detail", r.backend_detail}};
  j["gamma"] = r.gamma ? json(*r.gamma) : json();
  j["baseline_run"] = r.baseline_run ? json(*r.baseline_run) : json();
  j["request"] = json_or_null(r.request_json);
  j["policy_config"] = json_or_null(r.policy_json);
  j["metrics"] = json::object();
  for (const auto& m : store.metrics(run)) {
    j["metrics"][m.name] = {{"mean", m.mean}, {"max", m.max}};
    if (m.low && m.high) j["metrics"][m.name]["interval"] = {*m.low, *m.high};
  }
  j["layers"] = json::array();
  for (const auto& l : store.layer_stats(run)) {
    j["layers"].push_back({{"step", l.step},
                           {"layer", l.layer},
                           {"latency_ns", l.latency_ns},
                           {"latency_interval_ns", {l.latency_low_ns, l.latency_high_ns}},
                           {"repeats", l.repeats},
                           {"same_work_as_baseline", l.same_work_as_baseline},
                           {"lost_pairs", l.lost_pairs ? json(*l.lost_pairs) : json()},
                           {"dispatch_ns", l.dispatch_ns},
                           {"expert_phase_ns", l.expert_phase_ns},
                           {"combine_ns", l.combine_ns},
                           {"straggler_margin_ns", l.straggler_margin_ns},
                           {"straggler_device", l.straggler_device},
                           {"straggler_expert", l.straggler_expert},
                           {"imbalance_routed", l.imbalance_routed},
                           {"imbalance_kept", l.imbalance_kept},
                           {"balancedness_routed", l.balancedness_routed},
                           {"balancedness_kept", l.balancedness_kept},
                           {"drop_rate", l.drop_rate},
                           {"tokens_fully_dropped", l.tokens_fully_dropped},
                           {"added_pairs", l.added_pairs},
                           {"gate_mass_kept", l.gate_mass_kept},
                           {"output_error", l.output_error},
                           {"gating_ns", l.gating_ns},
                           {"policy_ns", l.policy_ns},
                           {"capacity", l.capacity}});
  }
  j["expert_load"] = json::array();
  for (const auto& e : store.expert_loads(run)) {
    j["expert_load"].push_back({{"step", e.step},
                                {"layer", e.layer},
                                {"expert", e.expert},
                                {"device", e.device},
                                {"routed", e.routed},
                                {"kept", e.kept},
                                {"dropped", e.dropped},
                                {"added", e.added},
                                {"compute_ns", e.compute_ns}});
  }
  const auto slots = store.replica_slots(run);
  if (!slots.empty()) {  // a run on replicated experts: each physical slot
    j["replica_slots"] = json::array();
    for (const auto& slot : slots) {
      j["replica_slots"].push_back({{"step", slot.step},
                                    {"layer", slot.layer},
                                    {"slot", slot.slot},
                                    {"expert", slot.expert},
                                    {"device", slot.device},
                                    {"rows", slot.rows},
                                    {"compute_ns", slot.compute_ns}});
    }
  }

  j["gpu_kernels"] = json::array();
  for (const auto& k : store.gpu_kernels(run)) {
    j["gpu_kernels"].push_back({{"step", k.step},
                                {"layer", k.layer},
                                {"device", k.device},
                                {"stream", k.stream},
                                {"expert", k.expert},
                                {"phase", std::string(profiler::phase_name(k.phase))},
                                {"start_ns", k.start_ns},
                                {"end_ns", k.end_ns},
                                {"name", k.name}});
  }
  return j;
}

// The trace process of the GPU's own kernels: above every device id a run can have.
constexpr int kGpuKernelsPid = 1 << 20;

json export_chrome_trace(SessionStore& store, std::int64_t run) {
  const StoredRun info = store.run(run);
  const auto events = store.spans(run);
  json trace = json::array();
  std::map<int, std::map<int, bool>> threads;  // device -> streams seen
  std::map<std::pair<int, int>, std::int64_t> layer_start;
  for (const auto& e : events) {
    threads[e.device][e.stream] = true;
    auto [it, fresh] = layer_start.try_emplace({e.step, e.layer}, e.start_ns);
    if (!fresh && e.start_ns < it->second) it->second = e.start_ns;
    json args = {{"step", e.step}, {"layer", e.layer}, {"phase", profiler::phase_name(e.phase)}};
    std::string name(profiler::phase_name(e.phase));
    if (e.expert >= 0) {
      args["expert"] = e.expert;
      name = "expert " + std::to_string(e.expert);
    }
    // Trace-event times are microseconds; fractions keep nanosecond resolution.
    trace.push_back({{"name", name},
                     {"cat", profiler::phase_name(e.phase)},
                     {"ph", "X"},
                     {"ts", static_cast<double>(e.start_ns) / 1e3},
                     {"dur", static_cast<double>(e.duration_ns()) / 1e3},
                     {"pid", e.device},
                     {"tid", e.stream},
                     {"args", args}});
  }
  for (const auto& [device, streams] : threads) {
    trace.push_back(
        {{"name", "process_name"},
         {"ph", "M"},
         {"pid", device},
         {"tid", 0},
         {"args", {{"name", "device " + std::to_string(device) + " (" + info.timing + ")"}}}});
    for (const auto& [stream, seen] : streams) {
      trace.push_back({{"name", "thread_name"},
                       {"ph", "M"},
                       {"pid", device},
                       {"tid", stream},
                       {"args", {{"name", "stream " + std::to_string(stream)}}}});
    }
  }
  // The GPU's own kernels (CUDA runs timed by CUPTI), in one process of their own, each layer's
  // placed at the start of that layer in the composed timeline, so the two line up.
  const auto kernels = store.gpu_kernels(run);
  std::map<int, bool> gpu_streams;
  for (const auto& k : kernels) {
    const auto start = layer_start.find({k.step, k.layer});
    const std::int64_t offset = start == layer_start.end() ? 0 : start->second;
    gpu_streams[k.stream] = true;
    json args = {{"step", k.step},
                 {"layer", k.layer},
                 {"device", k.device},
                 {"phase", profiler::phase_name(k.phase)}};
    if (k.expert >= 0) args["expert"] = k.expert;
    trace.push_back({{"name", k.name},
                     {"cat", "gpu"},
                     {"ph", "X"},
                     {"ts", static_cast<double>(offset + k.start_ns) / 1e3},
                     {"dur", static_cast<double>(k.end_ns - k.start_ns) / 1e3},
                     {"pid", kGpuKernelsPid},
                     {"tid", k.stream},
                     {"args", args}});
  }
  if (!kernels.empty()) {
    trace.push_back({{"name", "process_name"},
                     {"ph", "M"},
                     {"pid", kGpuKernelsPid},
                     {"tid", 0},
                     {"args", {{"name", "GPU kernels (CUPTI, as run)"}}}});
    for (const auto& [stream, seen] : gpu_streams) {
      trace.push_back({{"name", "thread_name"},
                       {"ph", "M"},
                       {"pid", kGpuKernelsPid},
                       {"tid", stream},
                       {"args", {{"name", "CUDA stream " + std::to_string(stream)}}}});
    }
  }
  // Counter tracks: each expert's kept load, per device, at the start of each layer.
  for (const auto& e : store.expert_loads(run)) {
    const auto start = layer_start.find({e.step, e.layer});
    if (start == layer_start.end()) continue;
    trace.push_back({{"name", "kept load"},
                     {"ph", "C"},
                     {"ts", static_cast<double>(start->second) / 1e3},
                     {"pid", e.device},
                     {"args", {{"expert " + std::to_string(e.expert), e.kept}}}});
  }
  return {
      {"traceEvents", trace},
      {"displayTimeUnit", "ns"},
      {"otherData",
       {{"run", info.id}, {"name", info.name}, {"policy", info.policy}, {"timing", info.timing}}}};
}

void export_run(SessionStore& store, std::int64_t run, ExportFormat format,
                const std::string& path) {
  std::string text;
  switch (format) {
    case ExportFormat::kCsv:
      text = export_csv(store, run);
      break;
    case ExportFormat::kJson:
      text = json_text(export_json(store, run), 2) + "\n";
      break;
    case ExportFormat::kChromeTrace:
      text = json_text(export_chrome_trace(store, run)) + "\n";
      break;
  }
  // Replacing the session being read with its own export would lose every run in it.
  std::error_code ec;
  if (std::filesystem::equivalent(output_target(path, "the export"), store.path(), ec)) {
    throw Error("cannot write the export '" + path + "': it is the session being exported (" +
                store.path() + ")");
  }
  write_file_atomically(path, text, "the export");
}

}  // namespace moescope
