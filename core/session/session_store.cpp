#include "core/session/session_store.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/base/version.h"
#include "core/run/run_report.h"
#include "core/session/session_schema.h"
#include "core/session/sqlite_db.h"

namespace moescope {

namespace {

constexpr const char* kRunColumns =
    "r.id, r.name, r.created_at, coalesce(r.finished_at, ''), r.status, r.tool_version, "
    "r.model, r.policy, r.policy_kind, r.gamma, r.devices, r.tokens, r.steps, r.backend, "
    "r.timing, r.collector, r.baseline_run, r.run_group, r.spec_json, "
    "(SELECT mean FROM run_metrics m WHERE m.run = r.id AND m.name = 'latency_ns'), "
    "(SELECT mean FROM run_metrics m WHERE m.run = r.id AND m.name = 'speedup')";

std::optional<double> optional_double(const SqliteStatement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_double(column);
}

std::optional<std::int64_t> optional_int(const SqliteStatement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_int(column);
}

StoredRun read_run(const SqliteStatement& s) {
  StoredRun r;
  r.id = s.column_int(0);
  r.name = s.column_text(1);
  r.created_at = s.column_text(2);
  r.finished_at = s.column_text(3);
  r.status = s.column_text(4);
  r.tool_version = s.column_text(5);
  r.model = s.column_text(6);
  r.policy = s.column_text(7);
  r.policy_kind = s.column_text(8);
  r.gamma = optional_double(s, 9);
  r.devices = static_cast<int>(s.column_int(10));
  r.tokens = static_cast<int>(s.column_int(11));
  r.steps = static_cast<int>(s.column_int(12));
  r.backend = s.column_text(13);
  r.timing = s.column_text(14);
  r.collector = s.column_text(15);
  r.baseline_run = optional_int(s, 16);
  r.group = optional_int(s, 17);
  r.spec_json = s.column_text(18);
  r.latency_ns = optional_double(s, 19);
  r.speedup = optional_double(s, 20);
  return r;
}

std::string hex(std::int64_t v) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string default_session_path() {
  std::filesystem::path dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && xdg[0] == '/') {
    dir = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    dir = std::filesystem::path(home) / ".local" / "share";
  } else {
    throw Error("no default session: neither XDG_DATA_HOME nor HOME is set; use --session FILE");
  }
  dir /= "moescope";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("cannot create '" + dir.string() + "': " + ec.message());
  return (dir / "default.moescope").string();
}

SessionStore::SessionStore(const std::string& path, Access access) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (exists && !std::filesystem::is_regular_file(path, ec)) {
    throw Error(path + ": not a session file (not a regular file)");
  }
  if (access == Access::kRead && !exists) throw Error("no session file '" + path + "'");
  if (access == Access::kWrite && exists && ::access(path.c_str(), W_OK) != 0) {
    throw Error(path + ": the session file is read-only; nothing was written");
  }
  db_ = std::make_unique<SqliteDb>(
      path, access == Access::kRead ? SqliteDb::Mode::kReadOnly : SqliteDb::Mode::kReadWriteCreate);

  // Look before touching anything: a foreign or newer file must stay exactly as it was.
  const std::int64_t application_id = db_->query_int("PRAGMA application_id");
  const std::int64_t version = db_->query_int("PRAGMA user_version");
  const std::int64_t objects = db_->query_int("SELECT count(*) FROM sqlite_master");
  const bool blank = application_id == 0 && version == 0 && objects == 0;
  if (!blank && application_id != kSessionApplicationId) {
    throw Error(path + ": not a MoEScope session (an SQLite database of another application, id " +
                hex(application_id) + ")");
  }
  if (version > kSessionSchemaVersion) {
    throw Error(path + ": written by a newer MoEScope (session schema " + std::to_string(version) +
                "; this build reads up to " + std::to_string(kSessionSchemaVersion) +
                "); upgrade MoEScope to open it");
  }
  if (blank && access == Access::kRead) {
    throw Error(path + ": the session is empty (no run was ever stored in it)");
  }
  if (blank) {
    // Larger pages: fewer page splits and B-tree levels for a table of millions of events.
    db_->exec("PRAGMA page_size = 16384");
  }
  if (version < kSessionSchemaVersion) {
    if (access == Access::kRead) {
      // Reopen for writing: an older session is upgraded in place, as any write would.
      if (::access(path.c_str(), W_OK) != 0) {
        throw Error(path + ": session schema " + std::to_string(version) +
                    " needs an upgrade, but the file is read-only");
      }
      db_ = std::make_unique<SqliteDb>(path, SqliteDb::Mode::kReadWrite);
    }
    migrate_schema(*db_, version);
  }
  if (access == Access::kWrite) {
    db_->exec("PRAGMA journal_mode = WAL");
    db_->exec("PRAGMA synchronous = NORMAL");
    db_->exec("PRAGMA cache_size = -65536");  // 64 MiB: a large run's inserts stay in memory
  }
  db_->exec("PRAGMA foreign_keys = ON");
}

SessionStore::~SessionStore() = default;
SessionStore::SessionStore(SessionStore&&) noexcept = default;

const std::string& SessionStore::path() const {
  return db_->path();
}

std::int64_t SessionStore::schema_version() {
  return db_->query_int("PRAGMA user_version");
}

std::int64_t SessionStore::begin_run(const RunHeader& h) {
  SqliteStatement s(*db_,
                    "INSERT INTO runs (name, created_at, status, tool_version, model, policy, "
                    "policy_kind, gamma, devices, tokens, steps, backend, timing, collector, "
                    "baseline_run, run_group, spec_json) "
                    "VALUES (?, ?, 'incomplete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, h.name).bind(2, utc_now_iso8601()).bind(3, std::string_view(version()));
  s.bind(4, h.model).bind(5, policy_label(h.policy)).bind(6, policy_name(h.policy.kind));
  if (h.policy.kind == PolicyKind::kNone) {
    s.bind_null(7);
  } else {
    s.bind(7, h.policy.gamma);
  }
  s.bind(8, h.devices).bind(9, h.tokens).bind(10, h.steps).bind(11, h.backend);
  s.bind(12, h.timing).bind(13, h.collector);
  if (h.baseline_run) {
    s.bind(14, *h.baseline_run);
  } else {
    s.bind_null(14);
  }
  if (h.group) {
    s.bind(15, *h.group);
  } else {
    s.bind_null(15);
  }
  s.bind(16, h.spec_json);
  s.run();
  return db_->last_insert_rowid();
}

std::int64_t SessionStore::new_group() {
  return db_->query_int("SELECT coalesce(max(run_group), 0) + 1 FROM runs");
}

void SessionStore::set_status(std::int64_t id, const std::string& status) {
  SqliteStatement s(*db_, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?");
  s.bind(1, status).bind(2, utc_now_iso8601()).bind(3, id).run();
}

void SessionStore::rename_run(std::int64_t id, const std::string& name) {
  run(id);  // names the missing id
  SqliteStatement s(*db_, "UPDATE runs SET name = ? WHERE id = ?");
  s.bind(1, name).bind(2, id).run();
}

void SessionStore::remove_run(std::int64_t id) {
  run(id);
  SqliteTransaction t(*db_);
  SqliteStatement events(*db_,
                         "DELETE FROM kernel_events WHERE id IN (SELECT k.id FROM event_ranges r "
                         "JOIN kernel_events k ON k.id BETWEEN r.first_id AND r.last_id "
                         "WHERE r.run = ?)");
  events.bind(1, id).run();
  SqliteStatement s(*db_, "DELETE FROM runs WHERE id = ?");
  s.bind(1, id).run();
  t.commit();
}

namespace {

std::int64_t string_id(SqliteDb& db, std::string_view value) {
  SqliteStatement insert(db, "INSERT OR IGNORE INTO strings (value) VALUES (?)");
  insert.bind(1, value).run();
  SqliteStatement select(db, "SELECT id FROM strings WHERE value = ?");
  select.bind(1, value);
  select.step();
  return select.column_int(0);
}

// Rows per INSERT statement: one statement per row spends most of its time in statement
// setup, so rows go in batches (256 rows x 10 values, well under SQLite's 32766 parameters).
constexpr std::size_t kEventBatch = 256;
constexpr int kEventColumns = 10;

std::string insert_events_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO kernel_events (run, step, layer, device, stream, expert, phase, start_ns, "
      "end_ns, name) VALUES ";
  for (std::size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?)";
  return sql;
}

// Appends events (times shifted by offset_ns) and records their id range for the run. Runs
// inside the caller's transaction.
void append_events(SqliteDb& db, std::int64_t run, const std::vector<profiler::Event>& events,
                   std::int64_t offset_ns, const std::int64_t* names) {
  if (events.empty()) return;
  SqliteStatement batch(db, insert_events_sql(kEventBatch));
  std::int64_t first_id = -1;
  std::size_t i = 0;
  auto bind_row = [&](SqliteStatement& s, int base, const profiler::Event& e) {
    s.bind(base + 1, run).bind(base + 2, e.step).bind(base + 3, e.layer);
    s.bind(base + 4, e.device).bind(base + 5, e.stream).bind(base + 6, e.expert);
    s.bind(base + 7, static_cast<int>(e.phase)).bind(base + 8, e.start_ns + offset_ns);
    s.bind(base + 9, e.end_ns + offset_ns).bind(base + 10, names[static_cast<int>(e.phase)]);
  };
  for (; i + kEventBatch <= events.size(); i += kEventBatch) {
    for (std::size_t r = 0; r < kEventBatch; ++r) {
      bind_row(batch, static_cast<int>(r) * kEventColumns, events[i + r]);
    }
    batch.run();
    if (first_id < 0)
      first_id = db.last_insert_rowid() - static_cast<std::int64_t>(kEventBatch) + 1;
  }
  if (i < events.size()) {
    SqliteStatement tail(db, insert_events_sql(events.size() - i));
    for (std::size_t r = 0; i + r < events.size(); ++r) {
      bind_row(tail, static_cast<int>(r) * kEventColumns, events[i + r]);
    }
    tail.run();
    if (first_id < 0)
      first_id = db.last_insert_rowid() - static_cast<std::int64_t>(events.size() - i) + 1;
  }
  SqliteStatement range(db, "INSERT INTO event_ranges (run, first_id, last_id) VALUES (?, ?, ?)");
  range.bind(1, run).bind(2, first_id).bind(3, db.last_insert_rowid()).run();
}

constexpr int kPhaseCount = 6;

// A phase as stored, checked: a damaged file gives an error, not an out-of-range enum.
profiler::Phase stored_phase(std::int64_t value, const std::string& path, std::int64_t run,
                             const char* what) {
  if (value < 0 || value >= kPhaseCount) {
    throw Error(path + ": run " + std::to_string(run) + " has " + what + " of unknown phase " +
                std::to_string(value));
  }
  return static_cast<profiler::Phase>(value);
}

}  // namespace

void SessionStore::finish_run(std::int64_t id, const RunResult& result, std::size_t index) {
  const PolicyRun& run = result.runs.at(index);
  SqliteTransaction transaction(*db_);
  std::int64_t names[kPhaseCount];
  for (int p = 0; p < kPhaseCount; ++p) {
    names[p] = string_id(*db_, profiler::phase_name(static_cast<profiler::Phase>(p)));
  }
  SqliteStatement layer(*db_,
                        "INSERT INTO layer_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?, ?, ?, ?, ?)");
  SqliteStatement load(*db_, "INSERT INTO expert_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  SqliteStatement kernel(*db_, "INSERT INTO gpu_kernels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  std::vector<profiler::Event> events;
  // Layers run one after another: each layer's composed timeline starts where the last ended.
  std::int64_t clock_ns = 0;
  for (const auto& r : run.records) {
    const auto& tl = r.timeline;
    const auto& m = r.load;
    layer.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, tl.latency_ns);
    layer.bind(5, tl.dispatch_ns).bind(6, tl.expert_phase_ns).bind(7, tl.combine_ns);
    layer.bind(8, tl.straggler_margin_ns).bind(9, tl.straggler_device);
    layer.bind(10, tl.straggler_expert).bind(11, m.imbalance_routed).bind(12, m.imbalance_kept);
    layer.bind(13, m.balancedness_routed).bind(14, m.balancedness_kept).bind(15, m.drop_rate);
    layer.bind(16, m.tokens_fully_dropped).bind(17, m.added_pairs).bind(18, m.gate_mass_kept);
    layer.bind(19, r.output_error).bind(20, r.gating_ns).bind(21, r.policy_ns);
    layer.bind(22, nlohmann::json(r.capacity).dump());
    layer.run();
    for (int e = 0; e < static_cast<int>(m.routed_load.size()); ++e) {
      const auto ue = static_cast<std::size_t>(e);
      load.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, e);
      load.bind(5, result.placement.device(e)).bind(6, m.routed_load[ue]).bind(7, m.kept_load[ue]);
      load.bind(8, m.dropped_load[ue]).bind(9, m.added_load[ue]).bind(10, r.expert_ns[ue]);
      load.run();
    }
    for (std::size_t k = 0; k < r.gpu_kernels.size(); ++k) {
      const profiler::Event& g = r.gpu_kernels[k];
      kernel.bind(1, id).bind(2, g.step).bind(3, g.layer).bind(4, g.device).bind(5, g.stream);
      kernel.bind(6, g.expert).bind(7, static_cast<int>(g.phase)).bind(8, g.start_ns);
      kernel.bind(9, g.end_ns).bind(10, string_id(*db_, r.gpu_kernel_names.at(k)));
      kernel.run();
    }
    for (auto e : tl.events) {
      e.start_ns += clock_ns;
      e.end_ns += clock_ns;
      events.push_back(e);
    }
    clock_ns += tl.latency_ns;
  }
  append_events(*db_, id, events, 0, names);
  const PolicySummary s = summarize(run, result.runs.front());
  SqliteStatement metric(*db_, "INSERT OR REPLACE INTO run_metrics VALUES (?, ?, ?, ?)");
  auto put = [&](std::string_view name, const Stat& stat) {
    metric.bind(1, id).bind(2, name).bind(3, stat.mean).bind(4, stat.max).run();
  };
  put("speedup", {s.speedup, s.speedup});
  for (const auto& [name, stat] : named_stats(s))
    put(name, stat);
  SqliteStatement done(*db_, "UPDATE runs SET status = 'complete', finished_at = ? WHERE id = ?");
  done.bind(1, utc_now_iso8601()).bind(2, id).run();
  transaction.commit();
}

void SessionStore::write_events(std::int64_t id, const std::vector<profiler::Event>& events) {
  SqliteTransaction transaction(*db_);
  std::int64_t names[kPhaseCount];
  for (int p = 0; p < kPhaseCount; ++p) {
    names[p] = string_id(*db_, profiler::phase_name(static_cast<profiler::Phase>(p)));
  }
  append_events(*db_, id, events, 0, names);
  transaction.commit();
}

std::vector<StoredRun> SessionStore::runs() {
  SqliteStatement s(*db_, std::string("SELECT ") + kRunColumns + " FROM runs r ORDER BY r.id");
  std::vector<StoredRun> out;
  while (s.step())
    out.push_back(read_run(s));
  return out;
}

StoredRun SessionStore::run(std::int64_t id) {
  SqliteStatement s(*db_, std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id = ?");
  s.bind(1, id);
  if (!s.step()) throw Error(path() + ": no run " + std::to_string(id) + " in this session");
  return read_run(s);
}

std::vector<RunMetricRow> SessionStore::metrics(std::int64_t id) {
  SqliteStatement s(*db_, "SELECT name, mean, max FROM run_metrics WHERE run = ? ORDER BY name");
  s.bind(1, id);
  std::vector<RunMetricRow> out;
  while (s.step())
    out.push_back({s.column_text(0), s.column_double(1), s.column_double(2)});
  return out;
}

std::vector<LayerStatRow> SessionStore::layer_stats(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT step, layer, latency_ns, straggler_margin_ns, straggler_device, "
                    "imbalance_routed, imbalance_kept, drop_rate, output_error FROM layer_stats "
                    "WHERE run = ? ORDER BY step, layer");
  s.bind(1, id);
  std::vector<LayerStatRow> out;
  while (s.step()) {
    out.push_back({static_cast<int>(s.column_int(0)), static_cast<int>(s.column_int(1)),
                   s.column_int(2), s.column_int(3), static_cast<int>(s.column_int(4)),
                   s.column_double(5), s.column_double(6), s.column_double(7), s.column_double(8)});
  }
  return out;
}

std::vector<ExpertLoadRow> SessionStore::expert_loads(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT step, layer, expert, device, routed, kept, dropped, added, compute_ns "
                    "FROM expert_load WHERE run = ? ORDER BY step, layer, expert");
  s.bind(1, id);
  std::vector<ExpertLoadRow> out;
  while (s.step()) {
    out.push_back({static_cast<int>(s.column_int(0)), static_cast<int>(s.column_int(1)),
                   static_cast<int>(s.column_int(2)), static_cast<int>(s.column_int(3)),
                   s.column_int(4), s.column_int(5), s.column_int(6), s.column_int(7),
                   s.column_int(8)});
  }
  return out;
}

std::vector<profiler::Event> SessionStore::events(std::int64_t id) {
  SqliteStatement ranges(
      *db_, "SELECT first_id, last_id FROM event_ranges WHERE run = ? ORDER BY first_id");
  ranges.bind(1, id);
  SqliteStatement s(*db_,
                    "SELECT start_ns, end_ns, device, stream, step, layer, expert, phase "
                    "FROM kernel_events WHERE id BETWEEN ? AND ? ORDER BY id");
  std::vector<profiler::Event> out;
  while (ranges.step()) {
    s.bind(1, ranges.column_int(0)).bind(2, ranges.column_int(1));
    while (s.step()) {
      out.push_back({s.column_int(0), s.column_int(1), static_cast<int>(s.column_int(2)),
                     static_cast<int>(s.column_int(3)), static_cast<int>(s.column_int(4)),
                     static_cast<int>(s.column_int(5)), static_cast<int>(s.column_int(6)),
                     stored_phase(s.column_int(7), path(), id, "an event")});
    }
    s.reset();
  }
  return out;
}

std::vector<StoredKernel> SessionStore::gpu_kernels(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT k.step, k.layer, k.device, k.stream, k.expert, k.phase, k.start_ns, "
                    "k.end_ns, n.value FROM gpu_kernels k JOIN strings n ON n.id = k.name "
                    "WHERE k.run = ? ORDER BY k.step, k.layer, k.start_ns, k.rowid");
  s.bind(1, id);
  std::vector<StoredKernel> out;
  while (s.step()) {
    StoredKernel k;
    k.step = static_cast<int>(s.column_int(0));
    k.layer = static_cast<int>(s.column_int(1));
    k.device = static_cast<int>(s.column_int(2));
    k.stream = static_cast<int>(s.column_int(3));
    k.expert = static_cast<int>(s.column_int(4));
    k.phase = stored_phase(s.column_int(5), path(), id, "a GPU kernel");
    k.start_ns = s.column_int(6);
    k.end_ns = s.column_int(7);
    k.name = s.column_text(8);
    out.push_back(std::move(k));
  }
  return out;
}

std::int64_t SessionStore::event_count() {
  return db_->query_int("SELECT count(*) FROM kernel_events");
}

}  // namespace moescope
