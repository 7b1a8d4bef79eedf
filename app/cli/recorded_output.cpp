#include "app/cli/recorded_output.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/table_output.h"
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
      out << j.dump(2) << "\n";
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
  const char* const kColumns[] = {"latency_ns", "speedup", "drop_rate", "output_error"};
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
      points.push_back(std::move(point));
    }
  }
  if (format == "json") {
    out << nlohmann::json(
               {{"session", recorded.session_path},
                {"group", recorded.group ? nlohmann::json(*recorded.group) : nlohmann::json()},
                {"points", points}})
               .dump(2)
        << "\n";
    return;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%-30s %4s", "policy", "dev");
  out << line;
  for (const char* key : kColumns) {
    std::snprintf(line, sizeof line, " %13s", std::string(metric_info(key).column).c_str());
    out << line;
  }
  out << " "
      << "run\n";
  for (const auto& p : points) {
    std::snprintf(line, sizeof line, "%-30s %4d", p["policy"].get<std::string>().c_str(),
                  p["devices"].get<int>());
    out << line;
    for (const char* key : kColumns) {
      std::snprintf(line, sizeof line, " %13s",
                    format_metric(metric_info(key), p[key].get<double>()).c_str());
      out << line;
    }
    out << " " << p["run_id"].get<long long>() << "\n";
  }
  out << "\nStored in " << recorded.session_path;
  if (recorded.group) out << " (group " << *recorded.group << ", " << points.size() << " runs)";
  out << "\n";
}

}  // namespace moescope::cli
