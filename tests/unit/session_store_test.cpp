#include "core/session/session_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/run/metric_table.h"
#include "core/run/run_rows.h"
#include "core/run/summary.h"
#include "core/session/record_experiment.h"
#include "core/session/session_export.h"
#include "core/session/session_schema.h"
#include "core/session/sqlite_db.h"

namespace moescope {
namespace {

class SessionStoreTest : public ::testing::Test {
 protected:
  std::string path_ =
      (std::filesystem::temp_directory_path() /
       ("moescope_store_" + std::to_string(getpid()) + "_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".moescope"))
          .string();
  void SetUp() override { remove_files(); }
  void TearDown() override { remove_files(); }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm", ".part"}) {
      std::filesystem::remove(path_ + suffix);
    }
  }

  static Experiment small_experiment() {
    Experiment e;
    e.model.preset = "deepseek-v2-lite";
    e.model.scale = 64;
    e.model.layers = {1, 4};
    e.routing.tokens = 96;
    e.routing.skew = 0.6;
    e.seed = 2;
    e.steps = 2;
    e.devices = {4};
    e.policies.kinds = {PolicyKind::kDrop};
    e.policies.gammas = {1.25};
    e.backend = "cpu";
    return e;
  }

  // The baseline and drop of small_experiment(), stored.
  RecordedBatch record(SessionStore& store) {
    const auto backend = make_cpu_backend();
    return record_experiment(store, small_experiment(), *backend, nullptr, nullptr).batches.front();
  }

  std::string file_bytes() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::string open_error(SessionStore::Access access) {
    try {
      SessionStore store(path_, access);
      store.runs();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
};

TEST_F(SessionStoreTest, EveryFieldOfARunRoundTrips) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  EXPECT_EQ(store.schema_version(), kSessionSchemaVersion);
  const RecordedBatch recorded = record(store);
  ASSERT_EQ(recorded.run_ids.size(), 2u);
  const RunResult& result = recorded.result;

  SessionStore reader(path_, SessionStore::Access::kRead);
  const auto runs = reader.runs();
  ASSERT_EQ(runs.size(), 2u);
  const StoredRun& drop = runs[1];
  EXPECT_EQ(drop.status, "complete");
  EXPECT_EQ(drop.model, "deepseek-v2-lite/64");
  EXPECT_EQ(drop.policy, "drop(gamma=1.25)");
  EXPECT_EQ(drop.policy_kind, "drop");
  ASSERT_TRUE(drop.gamma.has_value());
  EXPECT_DOUBLE_EQ(*drop.gamma, 1.25);
  EXPECT_FALSE(runs[0].gamma.has_value());
  EXPECT_EQ(drop.devices, 4);
  EXPECT_EQ(drop.tokens, 96);
  EXPECT_EQ(drop.steps, 2);
  EXPECT_EQ(drop.backend, "cpu");
  EXPECT_EQ(drop.timing, "composed");
  EXPECT_EQ(drop.collector, "cpu-timer");
  EXPECT_EQ(drop.baseline_run, runs[0].id);
  EXPECT_FALSE(drop.finished_at.empty());
  const auto request = nlohmann::json::parse(drop.request_json);
  EXPECT_EQ(request["model"]["spec"]["layer_subset"], nlohmann::json({1, 4}));
  EXPECT_EQ(request["policies"]["gamma"], nlohmann::json({1.25}));
  EXPECT_EQ(nlohmann::json::parse(drop.policy_json)["gamma"], 1.25);

  // Every metric of the table, as the summary has it.
  const RunSummary summary = summarize(result.runs[1], result.runs[0]);
  std::map<std::string, MetricRow> metrics;
  for (const auto& m : reader.metrics(drop.id))
    metrics[m.name] = m;
  // Every metric the run has: all but the modeled latency, which needs a cost model.
  EXPECT_EQ(metrics.size(), metric_table().size() - 1);
  EXPECT_FALSE(metrics.contains("modeled_latency_ns"));
  for (const MetricInfo& m : metric_table()) {
    if (m.key == "modeled_latency_ns") continue;
    EXPECT_DOUBLE_EQ(metrics[std::string(m.key)].mean, summary.mean(m.key)) << m.key;
    EXPECT_DOUBLE_EQ(metrics[std::string(m.key)].max, summary.stat(m.key).max) << m.key;
  }
  EXPECT_DOUBLE_EQ(*drop.speedup, summary.mean("speedup"));
  EXPECT_DOUBLE_EQ(*drop.latency_ns, summary.mean("latency_ns"));

  const auto loads = reader.expert_loads(drop.id);
  const auto& records = result.runs[1].records;
  ASSERT_EQ(loads.size(), records.size() * 64);
  for (const auto& row : loads) {
    const auto& rec = records[static_cast<std::size_t>(row.step * 2 + (row.layer == 4 ? 1 : 0))];
    ASSERT_EQ(rec.layer, row.layer);
    const auto e = static_cast<std::size_t>(row.expert);
    EXPECT_EQ(row.routed, rec.load.routed_load[e]);
    EXPECT_EQ(row.kept, rec.load.kept_load[e]);
    EXPECT_EQ(row.dropped, rec.load.dropped_load[e]);
    EXPECT_EQ(row.added, rec.load.added_load[e]);
    EXPECT_EQ(row.compute_ns, rec.expert_ns[e]);
    EXPECT_EQ(row.device, row.expert * 4 / 64);
  }
  // Every column of every layer, as tabulated before the store wrote it.
  const auto layers = reader.layer_stats(drop.id);
  ASSERT_EQ(layers.size(), records.size());
  EXPECT_EQ(layers, tabulate_run(result, 1).layers);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].latency_ns, records[i].timeline.latency_ns);
    EXPECT_DOUBLE_EQ(layers[i].output_error, records[i].output_error);
    EXPECT_EQ(layers[i].capacity, records[i].capacity);
  }
  // Spans keep their durations and tags; each layer starts where the previous one ended.
  const auto events = reader.spans(drop.id);
  std::size_t n = 0;
  std::int64_t offset = 0;
  for (const auto& rec : records) {
    for (const auto& e : rec.timeline.events) {
      ASSERT_LT(n, events.size());
      EXPECT_EQ(events[n].start_ns, e.start_ns + offset);
      EXPECT_EQ(events[n].duration_ns(), e.duration_ns());
      EXPECT_EQ(events[n].expert, e.expert);
      EXPECT_EQ(events[n].phase, e.phase);
      EXPECT_EQ(events[n].device, e.device);
      ++n;
    }
    offset += rec.timeline.latency_ns;
  }
  EXPECT_EQ(n, events.size());
}

TEST_F(SessionStoreTest, RenameRemoveAndMissingRuns) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  const auto ids = record(store).run_ids;
  store.rename_run(ids[1], "tuned");
  EXPECT_EQ(store.run(ids[1]).name, "tuned");
  store.remove_run(ids[0]);
  EXPECT_FALSE(store.run(ids[1]).baseline_run.has_value());  // ON DELETE SET NULL
  store.remove_run(ids[1]);
  EXPECT_TRUE(store.runs().empty());
  EXPECT_EQ(store.span_count(), 0);  // cascaded
  EXPECT_TRUE(store.expert_loads(ids[1]).empty());
  try {
    store.run(42);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no run 42"), std::string::npos);
  }
  EXPECT_THROW(store.remove_run(42), Error);
  EXPECT_THROW(store.rename_run(42, "x"), Error);
}

TEST_F(SessionStoreTest, ReaderSeesCommittedRunsWhileAWriterAdds) {
  SessionStore writer(path_, SessionStore::Access::kWrite);
  record(writer);
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string reader_error;
  std::thread reader([&] {
    try {
      SessionStore store(path_, SessionStore::Access::kRead);
      while (!done) {
        for (const auto& r : store.runs()) {
          // A complete run always has its data: runs are written in one transaction.
          if (r.status == "complete" && store.expert_loads(r.id).empty()) {
            reader_error = "complete run " + std::to_string(r.id) + " without data";
          }
        }
        ++reads;
      }
    } catch (const std::exception& e) {
      reader_error = e.what();
    }
  });
  for (int i = 0; i < 4; ++i)
    record(writer);
  done = true;
  reader.join();
  EXPECT_EQ(reader_error, "");
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(SessionStore(path_, SessionStore::Access::kRead).runs().size(), 10u);
}

TEST_F(SessionStoreTest, AFileOfAnotherFormatIsRefusedAndLeftAlone) {
  { std::ofstream(path_, std::ios::binary) << "\x89PNG\r\n\x1a\n" << std::string(600, 'x'); }
  const std::string before = file_bytes();
  EXPECT_NE(open_error(SessionStore::Access::kWrite).find("not a MoEScope session"),
            std::string::npos)
      << open_error(SessionStore::Access::kWrite);
  EXPECT_NE(open_error(SessionStore::Access::kRead).find("not a MoEScope session"),
            std::string::npos);
  EXPECT_EQ(file_bytes(), before);
  EXPECT_FALSE(std::filesystem::exists(path_ + "-wal"));
}

TEST_F(SessionStoreTest, ASqliteDatabaseOfAnotherApplicationIsLeftAlone) {
  {
    SqliteDb db(path_, SqliteDb::Mode::kReadWriteCreate);
    db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine');");
  }
  const std::string before = file_bytes();
  EXPECT_NE(open_error(SessionStore::Access::kWrite).find("another application"),
            std::string::npos);
  EXPECT_EQ(file_bytes(), before);
}

TEST_F(SessionStoreTest, ANewerSchemaIsRefusedAndLeftAlone) {
  {
    SessionStore store(path_, SessionStore::Access::kWrite);
    record(store);
  }
  {
    SqliteDb db(path_, SqliteDb::Mode::kReadWrite);
    db.exec("PRAGMA user_version = 99");
  }
  const std::string before = file_bytes();
  EXPECT_NE(open_error(SessionStore::Access::kWrite).find("newer MoEScope (session schema 99"),
            std::string::npos);
  EXPECT_NE(open_error(SessionStore::Access::kRead).find("newer MoEScope"), std::string::npos);
  EXPECT_EQ(file_bytes(), before);
}

// Reading a session, or failing to read a damaged one, leaves no -wal or -shm file beside it.
TEST_F(SessionStoreTest, ReadingLeavesNoJournalBesideTheFile) {
  {
    SessionStore store(path_, SessionStore::Access::kWrite);
    for (int i = 0; i < 3; ++i)
      record(store);
  }
  const auto leftovers = [&] {
    return std::filesystem::exists(path_ + "-wal") || std::filesystem::exists(path_ + "-shm");
  };
  ASSERT_FALSE(leftovers());
  {
    SessionStore store(path_, SessionStore::Access::kRead);
    EXPECT_FALSE(store.runs().empty());
  }
  EXPECT_FALSE(leftovers());
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) / 2);
  try {
    SessionStore store(path_, SessionStore::Access::kRead);
    for (const auto& r : store.runs())
      store.spans(r.id);
    ADD_FAILURE() << "a truncated session was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt or truncated"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(leftovers());
}

TEST_F(SessionStoreTest, ATruncatedSessionGivesAClearError) {
  {
    SessionStore store(path_, SessionStore::Access::kWrite);
    for (int i = 0; i < 3; ++i)
      record(store);
    store.runs();
  }
  {
    // Fold the WAL into the main file, then cut the file in half.
    SqliteDb db(path_, SqliteDb::Mode::kReadWrite);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE");
  }
  const auto size = std::filesystem::file_size(path_);
  std::filesystem::resize_file(path_, size / 2);
  const std::string error = [&] {
    try {
      SessionStore store(path_, SessionStore::Access::kRead);
      for (const auto& r : store.runs())
        store.spans(r.id);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  }();
  EXPECT_NE(error.find("corrupt or truncated"), std::string::npos) << error;
}

TEST_F(SessionStoreTest, MissingEmptyAndReadOnlyFiles) {
  EXPECT_NE(open_error(SessionStore::Access::kRead).find("no session file"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path_));  // reading never creates a file
  { std::ofstream(path_) << ""; }
  EXPECT_NE(open_error(SessionStore::Access::kRead).find("empty"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(path_), 0u);
  {
    SessionStore store(path_, SessionStore::Access::kWrite);  // an empty file becomes a session
    record(store);
  }
  chmod(path_.c_str(), 0444);
  EXPECT_EQ(SessionStore(path_, SessionStore::Access::kRead).runs().size(), 2u);
  if (geteuid() != 0) {  // root may write to any file
    EXPECT_NE(open_error(SessionStore::Access::kWrite).find("read-only"), std::string::npos);
  }
  chmod(path_.c_str(), 0644);
}

TEST_F(SessionStoreTest, MigratesTheFirstSchemaVersion) {
  {
    SqliteDb db(path_, SqliteDb::Mode::kReadWriteCreate);
    create_schema_v1(db);
    db.exec(
        "INSERT INTO runs (name, created_at, status, tool_version, model, policy, policy_kind, "
        "gamma, devices, tokens, steps, backend, timing, spec_json) VALUES ('old', "
        "'2026-01-01T00:00:00Z', 'complete', '0.0.1', 'olmoe-1b-7b', 'drop(gamma=1)', 'drop', "
        "1.0, 8, 4096, 1, 'cpu', 'composed', '{}')");
    EXPECT_EQ(db.query_int("PRAGMA user_version"), 1);
  }
  SessionStore store(path_, SessionStore::Access::kWrite);
  EXPECT_EQ(store.schema_version(), kSessionSchemaVersion);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].name, "old");
  EXPECT_EQ(runs[0].collector, "cpu-timer");
  EXPECT_FALSE(runs[0].group.has_value());
  EXPECT_TRUE(store.gpu_kernels(runs[0].id).empty());  // version 3's table is there
  EXPECT_EQ(runs[0].request_json, "{}");               // version 4 renamed spec_json
  EXPECT_EQ(runs[0].policy_json, "");                  // and added policy_json
  record(store);                                       // and the migrated session takes new runs
  EXPECT_EQ(store.runs().size(), 3u);
}

TEST_F(SessionStoreTest, GpuKernelsRoundTripAndLeaveWithTheirRun) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  RunResult result = record(store).result;
  // What the CUDA backend hands over for one layer: kernels from its first, tagged.
  LayerRecord& r = result.runs[0].records[1];
  r.gpu_kernels = {{1600, 1700, 0, 13, r.step, r.layer, -1, profiler::Phase::kCombine},
                   {0, 1500, 2, 13, r.step, r.layer, 5, profiler::Phase::kExpert}};
  r.gpu_kernel_names = {"combine_kernel", "sm90_xmma_gemm_bf16bf16_bf16f32"};
  RunHeader h;
  h.name = "gpu";
  h.model = result.spec.name;
  h.devices = result.placement.devices;
  h.tokens = result.tokens;
  h.steps = result.steps;
  h.backend = "cuda";
  h.timing = "composed";
  h.collector = "cupti";
  h.request_json = "{}";
  const std::int64_t id = store.begin_run(h);
  store.finish_run(id, tabulate_run(result, 0));
  const auto kernels = store.gpu_kernels(id);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[0].name, "sm90_xmma_gemm_bf16bf16_bf16f32");  // by start within the layer
  EXPECT_EQ(kernels[0].expert, 5);
  EXPECT_EQ(kernels[0].device, 2);
  EXPECT_EQ(kernels[0].phase, profiler::Phase::kExpert);
  EXPECT_EQ(kernels[0].end_ns, 1500);
  EXPECT_EQ(kernels[1].name, "combine_kernel");
  EXPECT_EQ(kernels[1].expert, -1);
  EXPECT_EQ(kernels[1].stream, 13);
  EXPECT_EQ(kernels[1].step, r.step);
  EXPECT_EQ(kernels[1].layer, r.layer);
  const auto exported = export_json(store, id);
  ASSERT_EQ(exported["gpu_kernels"].size(), 2u);
  EXPECT_EQ(exported["gpu_kernels"][1]["phase"], "combine");
  // In the Chrome trace: a process of their own, aligned with the start of their layer.
  const auto trace = export_chrome_trace(store, id)["traceEvents"];
  double layer_start = -1;
  double gemm_ts = -1;
  std::string process;
  for (const auto& e : trace) {
    if (e["ph"] == "X" && e["cat"] != "gpu" && e["args"]["step"] == r.step &&
        e["args"]["layer"] == r.layer) {
      const double ts = e["ts"];
      layer_start = layer_start < 0 ? ts : std::min(layer_start, ts);
    }
    if (e["ph"] == "X" && e["cat"] == "gpu" && e["name"] == "sm90_xmma_gemm_bf16bf16_bf16f32") {
      gemm_ts = e["ts"];
      EXPECT_EQ(e["dur"], 1.5);
      EXPECT_EQ(e["args"]["expert"], 5);
    }
    if (e["ph"] == "M" && e["name"] == "process_name" && e["pid"] == 1 << 20) {
      process = e["args"]["name"];
    }
  }
  EXPECT_EQ(gemm_ts, layer_start);
  EXPECT_EQ(process, "GPU kernels (CUPTI, as run)");
  EXPECT_TRUE(store.gpu_kernels(record(store).run_ids[0]).empty());  // CPU runs have none
  store.remove_run(id);
  EXPECT_EQ(
      SqliteDb(path_, SqliteDb::Mode::kReadOnly).query_int("SELECT count(*) FROM gpu_kernels"), 0);
}

TEST_F(SessionStoreTest, ExportsParseBack) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  const auto id = record(store).run_ids[1];
  const std::string out = path_ + ".export";

  export_run(store, id, ExportFormat::kCsv, out);
  std::ifstream csv(out);
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line.rfind("run,step,layer,expert,device,routed,kept", 0), 0u);
  int rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 14) << line;
  }
  EXPECT_EQ(rows, 2 * 2 * 64);

  export_run(store, id, ExportFormat::kJson, out);
  const auto j = nlohmann::json::parse(std::ifstream(out));
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["expert_load"].size(), 256u);
  EXPECT_TRUE(j["metrics"].contains("drop_rate"));

  export_run(store, id, ExportFormat::kChromeTrace, out);
  const auto trace = nlohmann::json::parse(std::ifstream(out));
  ASSERT_TRUE(trace["traceEvents"].is_array());
  int complete = 0, counters = 0, metadata = 0;
  std::set<int> pids;
  for (const auto& e : trace["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("name")) << e.dump();
    const std::string ph = e["ph"];
    if (ph == "X") {
      ++complete;
      ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number() && e["tid"].is_number()) << e.dump();
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      EXPECT_TRUE(e["args"].contains("layer") && e["args"].contains("phase"));
      pids.insert(e["pid"].get<int>());
    } else if (ph == "C") {
      ++counters;
      EXPECT_TRUE(e["args"].is_object());
    } else if (ph == "M") {
      ++metadata;
    }
  }
  EXPECT_EQ(complete, static_cast<int>(store.spans(id).size()));
  EXPECT_EQ(pids, (std::set<int>{0, 1, 2, 3}));
  EXPECT_EQ(counters, 256);
  EXPECT_GE(metadata, 8);  // a process name and a thread name per device
  EXPECT_FALSE(std::filesystem::exists(out + ".part"));
  std::filesystem::remove(out);

  EXPECT_THROW(parse_export_format("xml"), Error);
  EXPECT_THROW(export_run(store, id, ExportFormat::kCsv, "/nonexistent-dir/x.csv"), Error);
}

TEST(DefaultSession, FollowsXdgDataHome) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("moescope_xdg_" + std::to_string(getpid()));
  setenv("XDG_DATA_HOME", dir.c_str(), 1);
  EXPECT_EQ(default_session_path(), (dir / "moescope" / "default.moescope").string());
  EXPECT_TRUE(std::filesystem::is_directory(dir / "moescope"));
  unsetenv("XDG_DATA_HOME");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moescope
