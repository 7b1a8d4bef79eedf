// Sessions: every run a user makes, kept in one SQLite file that the CLI writes and the GUI
// reads (WAL mode: a reader sees committed runs while a writer adds more).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/run/runner.h"
#include "profiler/event.h"

namespace moescope {

class SqliteDb;

// One GPU kernel or copy of a run, as CUPTI recorded it.
struct StoredKernel {
  int step = 0;
  int layer = 0;
  int device = 0;
  int stream = 0;
  int expert = -1;
  profiler::Phase phase = profiler::Phase::kExpert;
  std::int64_t start_ns = 0;  // from the first kernel of its layer
  std::int64_t end_ns = 0;
  std::string name;
};

// What `sessions` lists for one run.
struct StoredRun {
  std::int64_t id = 0;
  std::string name;
  std::string created_at;  // ISO 8601, UTC
  std::string finished_at;
  std::string status;  // complete, incomplete or failed
  std::string tool_version;
  std::string model;
  std::string policy;       // label, e.g. "drop(gamma=1.5)"
  std::string policy_kind;  // none, drop, expanded, reroute
  std::optional<double> gamma;
  int devices = 0;
  int tokens = 0;
  int steps = 0;
  std::string backend;
  std::string timing;     // measured or composed
  std::string collector;  // cpu-timer, cuda-events, cupti
  std::optional<std::int64_t> baseline_run;
  std::optional<std::int64_t> group;
  std::string spec_json;
  std::optional<double> latency_ns;  // mean layer latency, when complete
  std::optional<double> speedup;
};

struct RunMetricRow {
  std::string name;
  double mean = 0;
  double max = 0;
};

struct ExpertLoadRow {
  int step = 0;
  int layer = 0;
  int expert = 0;
  int device = 0;
  std::int64_t routed = 0;
  std::int64_t kept = 0;
  std::int64_t dropped = 0;
  std::int64_t added = 0;
  std::int64_t compute_ns = 0;
};

struct LayerStatRow {
  int step = 0;
  int layer = 0;
  std::int64_t latency_ns = 0;
  std::int64_t straggler_margin_ns = 0;
  int straggler_device = 0;
  double imbalance_routed = 0;
  double imbalance_kept = 0;
  double drop_rate = 0;
  double output_error = 0;
};

// What a run is, known before it starts: written first, as `incomplete`.
struct RunHeader {
  std::string name;
  std::string model;
  PolicyConfig policy;
  int devices = 0;
  int tokens = 0;
  int steps = 0;
  std::string backend;
  std::string timing;
  std::string collector = "cpu-timer";
  std::optional<std::int64_t> baseline_run;
  std::optional<std::int64_t> group;
  std::string spec_json;  // the whole request: model spec, policy, routing, placement, seed
};

class SessionStore {
 public:
  enum class Access { kRead, kWrite };

  // Opens (kWrite creates it when missing) and checks the file: not a MoEScope session, a
  // newer schema, a corrupt or truncated file, or a read-only one give an Error that says so,
  // and the file is left exactly as it was.
  SessionStore(const std::string& path, Access access);
  ~SessionStore();
  SessionStore(SessionStore&&) noexcept;

  const std::string& path() const;
  std::int64_t schema_version();

  // Writing. begin_run commits the run as `incomplete`, so that a process killed during the
  // run leaves it marked so; finish_run writes its results and marks it `complete` in one
  // transaction.
  std::int64_t begin_run(const RunHeader& header);
  void finish_run(std::int64_t id, const RunResult& result, std::size_t policy_index);
  void set_status(std::int64_t id, const std::string& status);
  std::int64_t new_group();
  void rename_run(std::int64_t id, const std::string& name);
  void remove_run(std::int64_t id);

  // Reading.
  std::vector<StoredRun> runs();
  StoredRun run(std::int64_t id);  // throws Error naming the id when absent
  std::vector<RunMetricRow> metrics(std::int64_t id);
  std::vector<LayerStatRow> layer_stats(std::int64_t id);
  std::vector<ExpertLoadRow> expert_loads(std::int64_t id);
  std::vector<profiler::Event> events(std::int64_t id);
  // In (step, layer, start) order; empty unless CUPTI timed the run.
  std::vector<StoredKernel> gpu_kernels(std::int64_t id);
  std::int64_t event_count();

  // Bulk event writing for importers and benchmarks: one transaction, one prepared statement.
  void write_events(std::int64_t id, const std::vector<profiler::Event>& events);

 private:
  std::unique_ptr<SqliteDb> db_;
};

// $XDG_DATA_HOME/moescope/default.moescope (or ~/.local/share/...): where runs go when the
// user names no session. Creates the folder.
std::string default_session_path();

std::string utc_now_iso8601();

}  // namespace moescope
