// Sessions: every run a user makes, kept in one SQLite file that the CLI writes and the GUI
// reads (WAL mode: a reader sees committed runs while a writer adds more).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/moe/policy_config.h"
#include "core/run/run_rows.h"
#include "core/run/statistics.h"
#include "profiler/event.h"

namespace moescope {

class SqliteDb;

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
  std::string request_json;  // the experiment that made the run (see core/run/experiment.h)
  std::string policy_json;   // the run's own policy settings; empty for runs of schema 3 and older
  std::optional<double> latency_ns;  // mean layer latency, when complete
  std::optional<double> speedup;
  // Their 95% intervals (runs stored before schema 5 have none).
  std::optional<Interval> latency_interval;
  std::optional<Interval> speedup_interval;
  bool same_work = false;      // kept its baseline's pairs in every layer
  std::string machine;         // the hardware and kernels the times come from
  std::string backend_detail;  // the backend's own line, written when the run completed
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
  std::string machine;
  std::optional<std::int64_t> baseline_run;
  std::optional<std::int64_t> group;
  std::string request_json;  // the experiment that made the run, to run it again
};

// The runs begin_batch stored, and their group.
struct BatchIds {
  std::vector<std::int64_t> ids;
  std::optional<std::int64_t> group;
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
  // run leaves it marked so; finish_run writes its rows and marks it `complete` in one
  // transaction.
  std::int64_t begin_run(const RunHeader& header);
  // The runs of one batch in one transaction: headers[0] is the baseline and every other run
  // points to it. `group`: none, kNewGroup for a fresh one (numbered inside the transaction,
  // so two writers never share one), or an existing group to join.
  static constexpr std::int64_t kNewGroup = -1;
  BatchIds begin_batch(std::vector<RunHeader> headers, std::optional<std::int64_t> group);
  void finish_run(std::int64_t id, const RunRows& rows);
  void set_status(std::int64_t id, const std::string& status);
  void rename_run(std::int64_t id, const std::string& name);
  void remove_run(std::int64_t id);

  // Reading.
  std::vector<StoredRun> runs();
  StoredRun run(std::int64_t id);  // throws Error naming the id when absent
  std::vector<MetricRow> metrics(std::int64_t id);
  std::vector<LayerStatRow> layer_stats(std::int64_t id);
  // Every repeat of every layer (runs of schema 4 and older have none).
  std::vector<RepeatRow> repeats(std::int64_t id);
  std::vector<ExpertLoadRow> expert_loads(std::int64_t id);
  // Each physical slot of a replicated run (empty for the others and older sessions).
  std::vector<ReplicaSlotRow> replica_slots(std::int64_t id);
  // The run's timeline (composed or measured spans), in the order they were written.
  std::vector<profiler::Event> spans(std::int64_t id);
  // In (step, layer, start) order; empty unless CUPTI timed the run.
  std::vector<GpuKernelRow> gpu_kernels(std::int64_t id);
  std::int64_t span_count();

  // Bulk span writing for importers and benchmarks: one transaction, batched inserts.
  void write_spans(std::int64_t id, const std::vector<profiler::Event>& spans);

 private:
  std::unique_ptr<SqliteDb> db_;
};

// $XDG_DATA_HOME/moescope/default.moescope (or ~/.local/share/...): where runs go when the
// user names no session. Creates the folder.
std::string default_session_path();

std::string utc_now_iso8601();

}  // namespace moescope
