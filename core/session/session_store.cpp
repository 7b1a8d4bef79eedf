#include "core/session/session_store.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/base/data_dir.h"
#include "core/base/error.h"
#include "core/base/utf8.h"
#include "core/base/version.h"
#include "core/run/run_json.h"
#include "core/session/session_schema.h"
#include "core/session/sqlite_db.h"

namespace moescope {

namespace {

constexpr const char* kRunColumns =
    "r.id, r.name, r.created_at, coalesce(r.finished_at, ''), r.status, r.tool_version, "
    "r.model, r.policy, r.policy_kind, r.gamma, r.devices, r.tokens, r.steps, r.backend, "
    "r.timing, r.collector, r.baseline_run, r.run_group, r.request_json, coalesce(r.policy_json, "
    "''), "
    "(SELECT mean FROM run_metrics m WHERE m.run = r.id AND m.name = 'latency_ns'), "
    "(SELECT mean FROM run_metrics m WHERE m.run = r.id AND m.name = 'speedup'), "
    "(SELECT low FROM run_metrics m WHERE m.run = r.id AND m.name = 'latency_ns'), "
    "(SELECT high FROM run_metrics m WHERE m.run = r.id AND m.name = 'latency_ns'), "
    "(SELECT low FROM run_metrics m WHERE m.run = r.id AND m.name = 'speedup'), "
    "(SELECT high FROM run_metrics m WHERE m.run = r.id AND m.name = 'speedup'), "
    "(SELECT min(l.same_work) FROM layer_stats l WHERE l.run = r.id), r.machine, "
    "r.backend_detail";

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
  r.request_json = s.column_text(18);
  r.policy_json = s.column_text(19);
  r.latency_ns = optional_double(s, 20);
  r.speedup = optional_double(s, 21);
  const auto latency_low = optional_double(s, 22);
  const auto latency_high = optional_double(s, 23);
  if (latency_low && latency_high) r.latency_interval = Interval{*latency_low, *latency_high, 0.95};
  const auto speedup_low = optional_double(s, 24);
  const auto speedup_high = optional_double(s, 25);
  if (speedup_low && speedup_high) r.speedup_interval = Interval{*speedup_low, *speedup_high, 0.95};
  r.same_work = optional_int(s, 26).value_or(0) != 0;
  r.machine = s.column_text(27);
  r.backend_detail = s.column_text(28);
  return r;
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

namespace {

// The folder SQLite writes its journal and index files in: the one of the file a link leads to.
std::string folder_of(const std::string& path) {
  std::error_code ec;
  std::filesystem::path file = std::filesystem::weakly_canonical(path, ec);
  if (ec) file = path;
  const std::filesystem::path parent = file.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

bool has_content(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0 && !ec;
}

// A session opened to read wherever its file can be read. SQLite reads a WAL session with a
// shared-memory index beside it, which it cannot create in a read-only folder or on a read-only
// mount; there the file is read as immutable, which reads the main file alone. That is only
// right when no journal beside it holds writes the main file lacks (a writer at work, or one
// killed before its checkpoint): then the session is refused, not shown stale.
// Whether the file's own first bytes say it is a session of this schema (SQLite's header keeps
// user_version at byte 60 and application_id at byte 68, big-endian). Read without SQLite, so a
// file that is not one is never opened for writing.
bool header_says_current_session(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[72] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return false;
  const auto be32 = [&](int at) {
    return (std::uint32_t{header[at]} << 24) | (std::uint32_t{header[at + 1]} << 16) |
           (std::uint32_t{header[at + 2]} << 8) | std::uint32_t{header[at + 3]};
  };
  return std::memcmp(header, "SQLite format 3", 16) == 0 &&
         static_cast<std::int64_t>(be32(60)) == kSessionSchemaVersion &&
         static_cast<std::int64_t>(be32(68)) == kSessionApplicationId;
}

std::unique_ptr<SqliteDb> open_for_reading(const std::string& path) {
  // A session of ours, in a writable place: read through a read-write connection that writes
  // nothing. SQLite removes the -wal and -shm files when the last connection closes, which a
  // read-only one cannot, so reading, or failing on a damaged page, leaves nothing beside it.
  if (::access(path.c_str(), W_OK) == 0 && ::access(folder_of(path).c_str(), W_OK) == 0 &&
      header_says_current_session(path)) {
    return std::make_unique<SqliteDb>(path, SqliteDb::Mode::kReadWrite);
  }
  auto db = std::make_unique<SqliteDb>(path, SqliteDb::Mode::kReadOnly);
  try {
    db->query_int("PRAGMA application_id");  // the first read: it opens the WAL index
    return db;
  } catch (const Error&) {
    const std::string folder = folder_of(path);
    if (::access(folder.c_str(), W_OK) == 0) throw;  // not the folder: a real error
  }
  for (const char* journal : {"-wal", "-journal"}) {
    if (has_content(path + journal)) {
      throw Error(path + ": its journal '" + path + journal +
                  "' holds writes not yet in the session, and they cannot be read from here "
                  "(the folder is read-only to you); open it where the folder is writable, or "
                  "after its writer has finished");
    }
  }
  db = std::make_unique<SqliteDb>(path, SqliteDb::Mode::kImmutable);
  db->query_int("PRAGMA application_id");  // its own error, if any
  return db;
}

}  // namespace

std::string default_session_path() {
  return (std::filesystem::path(user_data_dir("default session (use --session FILE)")) /
          "default.moescope")
      .string();
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
  const std::string folder = folder_of(path);
  if (access == Access::kWrite && ::access(folder.c_str(), W_OK) != 0) {
    throw Error(path + ": the folder '" + folder +
                "' is not writable, and a session writes its journal beside it; nothing was "
                "written");
  }
  db_ = access == Access::kRead
            ? open_for_reading(path)
            : std::make_unique<SqliteDb>(path, SqliteDb::Mode::kReadWriteCreate);

  // Look before touching anything: a foreign or newer file must stay exactly as it was.
  const auto [version, blank] = read_session_header(*db_);
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
      if (::access(path.c_str(), W_OK) != 0 || ::access(folder.c_str(), W_OK) != 0) {
        throw Error(path + ": session schema " + std::to_string(version) +
                    " needs an upgrade, but the file or its folder is read-only");
      }
      db_ = std::make_unique<SqliteDb>(path, SqliteDb::Mode::kReadWrite);
    }
    migrate_schema(*db_);
  }
  if (access == Access::kWrite) {
    // Several writers may create one new session at once; the switch persists in the file.
    db_->exec_waiting("PRAGMA journal_mode = WAL");
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
  require_utf8(h.name, "the run's name");
  require_utf8(h.model, "the run's model name");
  SqliteStatement s(*db_,
                    "INSERT INTO runs (name, created_at, status, tool_version, model, policy, "
                    "policy_kind, gamma, devices, tokens, steps, backend, timing, collector, "
                    "baseline_run, run_group, request_json, policy_json, machine) "
                    "VALUES (?, ?, 'incomplete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
  s.bind(16, h.request_json).bind(17, policy_config_to_json(h.policy).dump()).bind(18, h.machine);
  s.run();
  return db_->last_insert_rowid();
}

BatchIds SessionStore::begin_batch(std::vector<RunHeader> headers,
                                   std::optional<std::int64_t> group) {
  SqliteTransaction transaction(*db_);
  BatchIds out;
  if (group && *group == kNewGroup) {
    // Read inside the write transaction: no other writer can take the same number.
    group = db_->query_int("SELECT coalesce(max(run_group), 0) + 1 FROM runs");
  }
  out.group = group;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    headers[i].group = group;
    if (i > 0) headers[i].baseline_run = out.ids.front();
    out.ids.push_back(begin_run(headers[i]));
  }
  transaction.commit();
  return out;
}

void SessionStore::set_status(std::int64_t id, const std::string& status) {
  SqliteStatement s(*db_, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?");
  s.bind(1, status).bind(2, utc_now_iso8601()).bind(3, id).run();
}

void SessionStore::rename_run(std::int64_t id, const std::string& name) {
  require_utf8(name, "the new name of run " + std::to_string(id));
  run(id);  // names the missing id
  SqliteStatement s(*db_, "UPDATE runs SET name = ? WHERE id = ?");
  s.bind(1, name).bind(2, id).run();
}

void SessionStore::remove_run(std::int64_t id) {
  run(id);
  SqliteTransaction t(*db_);
  SqliteStatement spans(*db_,
                        "DELETE FROM timeline_spans WHERE id IN (SELECT k.id FROM span_ranges r "
                        "JOIN timeline_spans k ON k.id BETWEEN r.first_id AND r.last_id "
                        "WHERE r.run = ?)");
  spans.bind(1, id).run();
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
constexpr std::size_t kSpanBatch = 256;
constexpr int kSpanColumns = 10;

std::string insert_spans_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO timeline_spans (run, step, layer, device, stream, expert, phase, start_ns, "
      "end_ns, name) VALUES ";
  for (std::size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?)";
  return sql;
}

// Appends spans and records their id range for the run. Runs inside the caller's transaction.
void append_spans(SqliteDb& db, std::int64_t run, const std::vector<profiler::Event>& events,
                  const std::int64_t* names) {
  if (events.empty()) return;
  SqliteStatement batch(db, insert_spans_sql(kSpanBatch));
  std::int64_t first_id = -1;
  std::size_t i = 0;
  auto bind_row = [&](SqliteStatement& s, int base, const profiler::Event& e) {
    s.bind(base + 1, run).bind(base + 2, e.step).bind(base + 3, e.layer);
    s.bind(base + 4, e.device).bind(base + 5, e.stream).bind(base + 6, e.expert);
    s.bind(base + 7, static_cast<int>(e.phase)).bind(base + 8, e.start_ns);
    s.bind(base + 9, e.end_ns).bind(base + 10, names[static_cast<int>(e.phase)]);
  };
  for (; i + kSpanBatch <= events.size(); i += kSpanBatch) {
    for (std::size_t r = 0; r < kSpanBatch; ++r) {
      bind_row(batch, static_cast<int>(r) * kSpanColumns, events[i + r]);
    }
    batch.run();
    if (first_id < 0) first_id = db.last_insert_rowid() - static_cast<std::int64_t>(kSpanBatch) + 1;
  }
  if (i < events.size()) {
    SqliteStatement tail(db, insert_spans_sql(events.size() - i));
    for (std::size_t r = 0; i + r < events.size(); ++r) {
      bind_row(tail, static_cast<int>(r) * kSpanColumns, events[i + r]);
    }
    tail.run();
    if (first_id < 0)
      first_id = db.last_insert_rowid() - static_cast<std::int64_t>(events.size() - i) + 1;
  }
  SqliteStatement range(db, "INSERT INTO span_ranges (run, first_id, last_id) VALUES (?, ?, ?)");
  range.bind(1, run).bind(2, first_id).bind(3, db.last_insert_rowid()).run();
}

constexpr int kPhaseCount = profiler::kPhaseCount;

// A phase as stored, checked: a damaged file gives an error, not an out-of-range enum.
profiler::Phase stored_phase(std::int64_t value, const std::string& path, std::int64_t run,
                             const char* what) {
  if (value < 0 || value >= kPhaseCount) {
    throw Error(path + ": run " + std::to_string(run) + " has " + what + " of unknown phase " +
                std::to_string(value));
  }
  return static_cast<profiler::Phase>(value);
}

// Start and end times as every writer stores them; anything else is refused before arithmetic on
// it (durations, offsets) could overflow.
void check_stored_times(std::int64_t start_ns, std::int64_t end_ns, const std::string& path,
                        std::int64_t run, const char* what) {
  if (profiler::times_in_range(start_ns, end_ns)) return;
  throw Error(path + ": run " + std::to_string(run) + " has " + what + " from " +
              std::to_string(start_ns) + " to " + std::to_string(end_ns) +
              " ns, which no MoEScope writes: the session is corrupt");
}

// A layer's capacity as stored (a JSON array of integers), checked like every stored value.
std::vector<std::int64_t> stored_capacity(const std::string& text, const std::string& path,
                                          std::int64_t run) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::int64_t> out;
  if (j.is_array()) {
    for (const auto& v : j) {
      if (!v.is_number_integer()) break;
      out.push_back(v.get<std::int64_t>());
    }
    if (out.size() == j.size()) return out;
  }
  throw Error(path + ": run " + std::to_string(run) +
              " has a layer whose capacity is not a list "
              "of integers");
}

// The names of the phases in the string table, which every span row points into.
std::vector<std::int64_t> phase_name_ids(SqliteDb& db) {
  std::vector<std::int64_t> names;
  for (int p = 0; p < kPhaseCount; ++p)
    names.push_back(string_id(db, profiler::phase_name(static_cast<profiler::Phase>(p))));
  return names;
}

}  // namespace

void SessionStore::finish_run(std::int64_t id, const RunRows& rows) {
  SqliteTransaction transaction(*db_);
  const std::vector<std::int64_t> names = phase_name_ids(*db_);
  SqliteStatement layer(
      *db_,
      "INSERT INTO layer_stats (run, step, layer, latency_ns, dispatch_ns, expert_phase_ns, "
      "combine_ns, straggler_margin_ns, straggler_device, straggler_expert, imbalance_routed, "
      "imbalance_kept, balancedness_routed, balancedness_kept, drop_rate, tokens_fully_dropped, "
      "added_pairs, gate_mass_kept, output_error, gating_ns, policy_ns, capacity, latency_low_ns, "
      "latency_high_ns, repeats, lost_pairs, same_work, composed_latency_ns, modeled_latency_ns) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "?)");
  for (const LayerStatRow& r : rows.layers) {
    layer.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, r.latency_ns);
    layer.bind(5, r.dispatch_ns).bind(6, r.expert_phase_ns).bind(7, r.combine_ns);
    layer.bind(8, r.straggler_margin_ns).bind(9, r.straggler_device);
    layer.bind(10, r.straggler_expert).bind(11, r.imbalance_routed).bind(12, r.imbalance_kept);
    layer.bind(13, r.balancedness_routed).bind(14, r.balancedness_kept).bind(15, r.drop_rate);
    layer.bind(16, r.tokens_fully_dropped).bind(17, r.added_pairs).bind(18, r.gate_mass_kept);
    layer.bind(19, r.output_error).bind(20, r.gating_ns).bind(21, r.policy_ns);
    layer.bind(22, nlohmann::json(r.capacity).dump());
    layer.bind(23, r.latency_low_ns).bind(24, r.latency_high_ns).bind(25, r.repeats);
    if (r.lost_pairs) {
      layer.bind(26, *r.lost_pairs);
    } else {
      layer.bind_null(26);
    }
    layer.bind(27, r.same_work_as_baseline ? 1 : 0).bind(28, r.composed_latency_ns);
    if (r.modeled_latency_ns) {
      layer.bind(29, *r.modeled_latency_ns);
    } else {
      layer.bind_null(29);
    }
    layer.run();
  }
  SqliteStatement repeat(*db_, "INSERT INTO layer_repeats VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const RepeatRow& r : rows.repeats) {
    repeat.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, r.repeat).bind(5, r.latency_ns);
    repeat.bind(6, r.straggler_margin_ns).bind(7, r.expert_compute_ns).run();
  }
  SqliteStatement load(*db_, "INSERT INTO expert_load VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const ExpertLoadRow& e : rows.loads) {
    load.bind(1, id).bind(2, e.step).bind(3, e.layer).bind(4, e.expert).bind(5, e.device);
    load.bind(6, e.routed).bind(7, e.kept).bind(8, e.dropped).bind(9, e.added);
    load.bind(10, e.compute_ns).run();
  }
  SqliteStatement slot(*db_, "INSERT INTO replica_slots VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  for (const ReplicaSlotRow& r : rows.replica_slots) {
    slot.bind(1, id).bind(2, r.step).bind(3, r.layer).bind(4, r.slot).bind(5, r.expert);
    slot.bind(6, r.device).bind(7, r.rows).bind(8, r.compute_ns).run();
  }
  SqliteStatement kernel(*db_, "INSERT INTO gpu_kernels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  for (const GpuKernelRow& k : rows.gpu_kernels) {
    kernel.bind(1, id).bind(2, k.step).bind(3, k.layer).bind(4, k.device).bind(5, k.stream);
    kernel.bind(6, k.expert).bind(7, static_cast<int>(k.phase)).bind(8, k.start_ns);
    kernel.bind(9, k.end_ns).bind(10, string_id(*db_, k.name)).run();
  }
  append_spans(*db_, id, rows.spans, names.data());
  SqliteStatement metric(
      *db_,
      "INSERT OR REPLACE INTO run_metrics (run, name, mean, max, low, high) VALUES (?, ?, ?, "
      "?, ?, ?)");
  for (const MetricRow& m : rows.metrics) {
    metric.bind(1, id).bind(2, m.name).bind(3, m.mean).bind(4, m.max);
    if (m.low && m.high) {
      metric.bind(5, *m.low).bind(6, *m.high);
    } else {
      metric.bind_null(5).bind_null(6);
    }
    metric.run();
  }
  SqliteStatement done(*db_,
                       "UPDATE runs SET status = 'complete', finished_at = ?, backend_detail = ? "
                       "WHERE id = ?");
  done.bind(1, utc_now_iso8601()).bind(2, rows.backend_detail).bind(3, id).run();
  transaction.commit();
}

void SessionStore::write_spans(std::int64_t id, const std::vector<profiler::Event>& spans) {
  SqliteTransaction transaction(*db_);
  append_spans(*db_, id, spans, phase_name_ids(*db_).data());
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

std::vector<MetricRow> SessionStore::metrics(std::int64_t id) {
  SqliteStatement s(
      *db_, "SELECT name, mean, max, low, high FROM run_metrics WHERE run = ? ORDER BY name");
  s.bind(1, id);
  std::vector<MetricRow> out;
  while (s.step()) {
    out.push_back({s.column_text(0), s.column_double(1), s.column_double(2), optional_double(s, 3),
                   optional_double(s, 4)});
  }
  return out;
}

std::vector<LayerStatRow> SessionStore::layer_stats(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT step, layer, latency_ns, dispatch_ns, expert_phase_ns, combine_ns, "
                    "straggler_margin_ns, straggler_device, straggler_expert, imbalance_routed, "
                    "imbalance_kept, balancedness_routed, balancedness_kept, drop_rate, "
                    "tokens_fully_dropped, added_pairs, gate_mass_kept, output_error, gating_ns, "
                    "policy_ns, capacity, latency_low_ns, latency_high_ns, repeats, lost_pairs, "
                    "same_work, composed_latency_ns, modeled_latency_ns FROM layer_stats "
                    "WHERE run = ? ORDER BY step, layer");
  s.bind(1, id);
  std::vector<LayerStatRow> out;
  while (s.step()) {
    LayerStatRow r;
    r.step = static_cast<int>(s.column_int(0));
    r.layer = static_cast<int>(s.column_int(1));
    r.latency_ns = s.column_int(2);
    r.dispatch_ns = s.column_int(3);
    r.expert_phase_ns = s.column_int(4);
    r.combine_ns = s.column_int(5);
    r.straggler_margin_ns = s.column_int(6);
    r.straggler_device = static_cast<int>(s.column_int(7));
    r.straggler_expert = static_cast<int>(s.column_int(8));
    r.imbalance_routed = s.column_double(9);
    r.imbalance_kept = s.column_double(10);
    r.balancedness_routed = s.column_double(11);
    r.balancedness_kept = s.column_double(12);
    r.drop_rate = s.column_double(13);
    r.tokens_fully_dropped = s.column_double(14);
    r.added_pairs = s.column_int(15);
    r.gate_mass_kept = s.column_double(16);
    r.output_error = s.column_double(17);
    r.gating_ns = s.column_int(18);
    r.policy_ns = s.column_int(19);
    r.capacity = stored_capacity(s.column_text(20), path(), id);
    r.latency_low_ns = s.column_int(21);
    r.latency_high_ns = s.column_int(22);
    r.repeats = static_cast<int>(s.column_int(23));
    r.lost_pairs = optional_double(s, 24);
    r.same_work_as_baseline = s.column_int(25) != 0;
    r.composed_latency_ns = s.column_int(26);
    r.modeled_latency_ns = optional_int(s, 27);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RepeatRow> SessionStore::repeats(std::int64_t id) {
  SqliteStatement s(
      *db_,
      "SELECT step, layer, repeat, latency_ns, straggler_margin_ns, expert_compute_ns "
      "FROM layer_repeats WHERE run = ? ORDER BY step, layer, repeat");
  s.bind(1, id);
  std::vector<RepeatRow> out;
  while (s.step()) {
    out.push_back({static_cast<int>(s.column_int(0)), static_cast<int>(s.column_int(1)),
                   static_cast<int>(s.column_int(2)), s.column_int(3), s.column_int(4),
                   s.column_int(5)});
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

std::vector<ReplicaSlotRow> SessionStore::replica_slots(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT step, layer, slot, expert, device, rows, compute_ns FROM replica_slots "
                    "WHERE run = ? ORDER BY step, layer, slot");
  s.bind(1, id);
  std::vector<ReplicaSlotRow> out;
  while (s.step()) {
    out.push_back({static_cast<int>(s.column_int(0)), static_cast<int>(s.column_int(1)),
                   static_cast<int>(s.column_int(2)), static_cast<int>(s.column_int(3)),
                   static_cast<int>(s.column_int(4)), s.column_int(5), s.column_int(6)});
  }
  return out;
}

std::vector<profiler::Event> SessionStore::spans(std::int64_t id) {
  SqliteStatement ranges(
      *db_, "SELECT first_id, last_id FROM span_ranges WHERE run = ? ORDER BY first_id");
  ranges.bind(1, id);
  SqliteStatement s(*db_,
                    "SELECT start_ns, end_ns, device, stream, step, layer, expert, phase "
                    "FROM timeline_spans WHERE id BETWEEN ? AND ? ORDER BY id");
  std::vector<profiler::Event> out;
  while (ranges.step()) {
    s.bind(1, ranges.column_int(0)).bind(2, ranges.column_int(1));
    while (s.step()) {
      check_stored_times(s.column_int(0), s.column_int(1), path(), id, "a span");
      out.push_back({s.column_int(0), s.column_int(1), static_cast<int>(s.column_int(2)),
                     static_cast<int>(s.column_int(3)), static_cast<int>(s.column_int(4)),
                     static_cast<int>(s.column_int(5)), static_cast<int>(s.column_int(6)),
                     stored_phase(s.column_int(7), path(), id, "a span")});
    }
    s.reset();
  }
  return out;
}

std::vector<GpuKernelRow> SessionStore::gpu_kernels(std::int64_t id) {
  SqliteStatement s(*db_,
                    "SELECT k.step, k.layer, k.device, k.stream, k.expert, k.phase, k.start_ns, "
                    "k.end_ns, n.value FROM gpu_kernels k JOIN strings n ON n.id = k.name "
                    "WHERE k.run = ? ORDER BY k.step, k.layer, k.start_ns, k.rowid");
  s.bind(1, id);
  std::vector<GpuKernelRow> out;
  while (s.step()) {
    GpuKernelRow k;
    k.step = static_cast<int>(s.column_int(0));
    k.layer = static_cast<int>(s.column_int(1));
    k.device = static_cast<int>(s.column_int(2));
    k.stream = static_cast<int>(s.column_int(3));
    k.expert = static_cast<int>(s.column_int(4));
    k.phase = stored_phase(s.column_int(5), path(), id, "a GPU kernel");
    k.start_ns = s.column_int(6);
    k.end_ns = s.column_int(7);
    check_stored_times(k.start_ns, k.end_ns, path(), id, "a GPU kernel");
    k.name = s.column_text(8);
    out.push_back(std::move(k));
  }
  return out;
}

std::int64_t SessionStore::span_count() {
  return db_->query_int("SELECT count(*) FROM timeline_spans");
}

}  // namespace moescope
