#include "core/session/session_schema.h"

#include <cstdio>
#include <string>

#include "core/base/error.h"
#include "core/session/sqlite_db.h"

namespace moescope {

namespace {

// Version 1: flat tables and integer nanoseconds, close to Nsight Systems' export.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE strings (
  id INTEGER PRIMARY KEY,
  value TEXT NOT NULL UNIQUE
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL CHECK (status IN ('complete', 'incomplete', 'failed')),
  tool_version TEXT NOT NULL,
  model TEXT NOT NULL,
  policy TEXT NOT NULL,
  policy_kind TEXT NOT NULL,
  gamma REAL,
  devices INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  steps INTEGER NOT NULL,
  backend TEXT NOT NULL,
  timing TEXT NOT NULL,
  baseline_run INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  spec_json TEXT NOT NULL
);
CREATE TABLE run_metrics (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  mean REAL NOT NULL,
  max REAL NOT NULL,
  PRIMARY KEY (run, name)
) WITHOUT ROWID;
CREATE TABLE layer_stats (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  latency_ns INTEGER NOT NULL,
  dispatch_ns INTEGER NOT NULL,
  expert_phase_ns INTEGER NOT NULL,
  combine_ns INTEGER NOT NULL,
  straggler_margin_ns INTEGER NOT NULL,
  straggler_device INTEGER NOT NULL,
  straggler_expert INTEGER NOT NULL,
  imbalance_routed REAL NOT NULL,
  imbalance_kept REAL NOT NULL,
  balancedness_routed REAL NOT NULL,
  balancedness_kept REAL NOT NULL,
  drop_rate REAL NOT NULL,
  tokens_fully_dropped REAL NOT NULL,
  added_pairs INTEGER NOT NULL,
  gate_mass_kept REAL NOT NULL,
  output_error REAL NOT NULL,
  gating_ns INTEGER NOT NULL,
  policy_ns INTEGER NOT NULL,
  capacity TEXT NOT NULL,
  PRIMARY KEY (run, step, layer)
) WITHOUT ROWID;
CREATE TABLE expert_load (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  device INTEGER NOT NULL,
  routed INTEGER NOT NULL,
  kept INTEGER NOT NULL,
  dropped INTEGER NOT NULL,
  added INTEGER NOT NULL,
  compute_ns INTEGER NOT NULL,
  PRIMARY KEY (run, step, layer, expert)
) WITHOUT ROWID;
-- Events are appended in one transaction per write, so the events of a run are a few
-- contiguous id ranges: event_ranges finds them without an index on the large table, which
-- keeps inserts at append speed and the file near 30 bytes per event.
CREATE TABLE kernel_events (
  id INTEGER PRIMARY KEY,
  run INTEGER NOT NULL,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  device INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  phase INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  name INTEGER NOT NULL
);
CREATE TABLE event_ranges (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  PRIMARY KEY (run, first_id)
) WITHOUT ROWID;
CREATE INDEX runs_by_status ON runs(status);
)sql";

// Version 2: which collector timed a run (CPU timer, CUDA events, CUPTI), and a group that
// ties together the runs of one comparison or sweep.
constexpr const char* kMigrationToV2 = R"sql(
ALTER TABLE runs ADD COLUMN collector TEXT NOT NULL DEFAULT 'cpu-timer';
ALTER TABLE runs ADD COLUMN run_group INTEGER;
CREATE INDEX runs_by_group ON runs(run_group);
)sql";

// Version 3: the kernels and copies of GPU runs as CUPTI saw them, each tagged with its step,
// layer, device, expert and phase (the timeline's spans stay in kernel_events).
constexpr const char* kMigrationToV3 = R"sql(
CREATE TABLE gpu_kernels (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  device INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  phase INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  name INTEGER NOT NULL REFERENCES strings(id)
);
CREATE INDEX gpu_kernels_by_layer ON gpu_kernels(run, step, layer);
)sql";

// Version 4: names that say what things are. The timeline's spans (composed or measured) are
// not kernels: those are in gpu_kernels. The runs' JSON is the request that made them (the
// experiment), not a model spec; each run also keeps its own policy's settings, so that it can
// be run again (NULL for runs stored before).
constexpr const char* kMigrationToV4 = R"sql(
ALTER TABLE kernel_events RENAME TO timeline_spans;
ALTER TABLE event_ranges RENAME TO span_ranges;
ALTER TABLE runs RENAME COLUMN spec_json TO request_json;
ALTER TABLE runs ADD COLUMN policy_json TEXT;
)sql";

// Version 5: numbers with their spread, and where they were taken. Every layer is timed several
// times: the latency is the median repeat, with its interval and every repeat kept; summary
// metrics carry the 95% interval of their mean; layers say whether a policy did the baseline's
// work, how many top-k pairs tokens lost, and their composed and modeled latencies; runs say on
// which machine and with which kernels. Runs of older sessions were timed once and composed:
// their interval is that time.
constexpr const char* kMigrationToV5 = R"sql(
ALTER TABLE layer_stats ADD COLUMN latency_low_ns INTEGER;
ALTER TABLE layer_stats ADD COLUMN latency_high_ns INTEGER;
ALTER TABLE layer_stats ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
ALTER TABLE layer_stats ADD COLUMN lost_pairs REAL;
ALTER TABLE layer_stats ADD COLUMN same_work INTEGER NOT NULL DEFAULT 0;
ALTER TABLE layer_stats ADD COLUMN composed_latency_ns INTEGER;
ALTER TABLE layer_stats ADD COLUMN modeled_latency_ns INTEGER;
UPDATE layer_stats SET latency_low_ns = latency_ns, latency_high_ns = latency_ns,
  composed_latency_ns = latency_ns;
ALTER TABLE runs ADD COLUMN machine TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN backend_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE run_metrics ADD COLUMN low REAL;
ALTER TABLE run_metrics ADD COLUMN high REAL;
CREATE TABLE layer_repeats (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  repeat INTEGER NOT NULL,
  latency_ns INTEGER NOT NULL,
  straggler_margin_ns INTEGER NOT NULL,
  expert_compute_ns INTEGER NOT NULL,
  PRIMARY KEY (run, step, layer, repeat)
) WITHOUT ROWID;
)sql";

// Version 6: replicated experts. A replicated run keeps, per step and layer, each physical
// slot's logical expert, device, rows and time (expert_load stays per logical expert).
constexpr const char* kMigrationToV6 = R"sql(
CREATE TABLE replica_slots (
  run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  layer INTEGER NOT NULL,
  slot INTEGER NOT NULL,
  expert INTEGER NOT NULL,
  device INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  compute_ns INTEGER NOT NULL,
  PRIMARY KEY (run, step, layer, slot)
) WITHOUT ROWID;
)sql";

}  // namespace

SessionHeader read_session_header(SqliteDb& db) {
  // One statement, so one snapshot: read one by one, another writer's creating transaction could
  // commit between them (an id of 0 beside its tables looked like another application's file).
  SqliteStatement header_row(db,
                             "SELECT (SELECT application_id FROM pragma_application_id), "
                             "(SELECT user_version FROM pragma_user_version), "
                             "(SELECT count(*) FROM sqlite_master)");
  header_row.step();
  const std::int64_t application_id = header_row.column_int(0);
  SessionHeader header;
  header.version = header_row.column_int(1);
  header.blank = application_id == 0 && header.version == 0 && header_row.column_int(2) == 0;
  if (!header.blank && application_id != kSessionApplicationId) {
    char id[32];
    std::snprintf(id, sizeof id, "0x%llx", static_cast<unsigned long long>(application_id));
    throw Error(db.path() +
                ": not a MoEScope session (an SQLite database of another application, id " + id +
                ")");
  }
  if (header.version > kSessionSchemaVersion) {
    throw Error(db.path() + ": written by a newer MoEScope (session schema " +
                std::to_string(header.version) + "; this build reads up to " +
                std::to_string(kSessionSchemaVersion) + "); upgrade MoEScope to open it");
  }
  return header;
}

void create_schema_v1(SqliteDb& db) {
  db.exec(kSchemaV1);
  db.exec("PRAGMA application_id = " + std::to_string(kSessionApplicationId));
  db.exec("PRAGMA user_version = 1");
}

void migrate_schema(SqliteDb& db) {
  SqliteTransaction transaction(db);
  const std::int64_t from_version = read_session_header(db).version;
  if (from_version == kSessionSchemaVersion) return;  // another process was first
  if (from_version < 1) create_schema_v1(db);
  if (from_version < 2) db.exec(kMigrationToV2);
  if (from_version < 3) db.exec(kMigrationToV3);
  if (from_version < 4) db.exec(kMigrationToV4);
  if (from_version < 5) db.exec(kMigrationToV5);
  if (from_version < 6) db.exec(kMigrationToV6);
  db.exec("PRAGMA user_version = " + std::to_string(kSessionSchemaVersion));
  transaction.commit();
}

}  // namespace moescope
