#include "app/cli/recorded_output.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/table_output.h"
#include "core/model/json_file.h"
#include "core/run/metric_table.h"
#include "core/run/run_json.h"
#include "core/run/summary.h"

namespace moescope::cli {

void print_recorded(std::ostream& out, const RecordedExperiment& recorded,
                    const std::string& format, bool per_layer) {
  for (const RecordedBatch& batch : recorded.batches) {
    if (format == "json") {
      nlohmann::json j = run_to_json(batch.result);
      j["session"] = recorded.session_path;
      j["group"] = recorded.group ? nlohmann::json(*recorded.group) : nlohmann::json();
      for (std::size_t i = 0; i < batch.run_ids.size(); ++i)
        j["policies"][i]["run_id"] = batch.run_ids[i];
      out << json_text(j, 2) << "\n";
      continue;
    }
    print_run_tables(out, batch.result, per_layer);
    out << "\nStored in " << recorded.session_path << " as run";
    for (std::size_t i = 0; i < batch.run_ids.size(); ++i) {
      out << (i == 0 ? " " : ", ") << batch.run_ids[i] << " ("
          << policy_label(batch.result.runs[i].config) << ")";
    }
    out << "\n";
  }
}

void print_sweep(std::ostream& out, const RecordedExperiment& recorded, const std::string& format) {
  // The columns of a sweep's table, as the metric table names and scales them.
  const char* const kColumns[] = {"latency_ns", "speedup", "drop_rate", "lost_pairs",
                                  "output_error"};
  nlohmann::json points = nlohmann::json::array();
  for (const RecordedBatch& batch : recorded.batches) {
    for (std::size_t i = 0; i < batch.result.runs.size(); ++i) {
      const PolicyRun& run = batch.result.runs[i];
      const RunSummary s = summarize(run, batch.result.runs.front());
      nlohmann::json point = {
          {"run_id", batch.run_ids[i]},
          {"policy", s.label},
          {"gamma", i == 0 ? nlohmann::json() : nlohmann::json(run.config.gamma)},
          {"devices", batch.devices}};
      for (const char* key : kColumns)
        point[key] = s.mean(key);
      const Stat& latency = s.stat("latency_ns");
      const Stat& speedup = s.stat("speedup");
      point["latency_interval"] =
          latency.interval ? nlohmann::json({latency.interval->low, latency.interval->high})
                           : nlohmann::json();
      point["speedup_interval"] =
          speedup.interval ? nlohmann::json({speedup.interval->low, speedup.interval->high})
                           : nlohmann::json();
      point["significant"] = significant(speedup);
      point["same_work"] = same_work_as_baseline(run);
      points.push_back(std::move(point));
    }
  }
  if (format == "json") {
    const nlohmann::json j = {
        {"session", recorded.session_path},
        {"group", recorded.group ? nlohmann::json(*recorded.group) : nlohmann::json()},
        {"points", points}};
    out << json_text(j, 2) << "\n";
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%-30s %4s", "policy", "dev");
  out << line;
  for (const char* key : kColumns) {
    std::snprintf(line, sizeof line, " %17s", std::string(metric_info(key).column).c_str());
    out << line;
  }
  out << " "
      << "run\n";
  for (const auto& p : points) {
    std::snprintf(line, sizeof line, "%-30s %4d", p["policy"].get<std::string>().c_str(),
                  p["devices"].get<int>());
    out << line;
    for (const char* key : kColumns) {
      const auto interval_of = [&](const char* field) -> std::optional<Interval> {
        if (p[field].is_null()) return std::nullopt;
        return Interval{p[field][0].get<double>(), p[field][1].get<double>(), 0.95};
      };
      std::string text;
      if (std::string(key) == "speedup" && p["gamma"].is_null()) {
        text = format_metric(metric_info(key), p[key].get<double>()) + "x";  // a baseline
      } else if (std::string(key) == "speedup") {
        text = format_speedup(p[key].get<double>(), interval_of("speedup_interval"),
                              p["same_work"].get<bool>());
      } else if (std::string(key) == "latency_ns") {
        text =
            format_metric(metric_info(key), p[key].get<double>(), interval_of("latency_interval"));
      } else {
        text = format_metric(metric_info(key), p[key].get<double>());
      }
      std::snprintf(line, sizeof line, " %17s", text.c_str());
      out << line;
    }
    out << " " << p["run_id"].get<long long>() << "\n";
  }
  out << "\nlatency and speedup: medians over the repeats with half their 95% interval; n.s.: no "
         "significant change\nStored in "
      << recorded.session_path;
  if (recorded.group) out << " (group " << *recorded.group << ", " << points.size() << " runs)";
  out << "\n";
}

}  // namespace moescope::cli
