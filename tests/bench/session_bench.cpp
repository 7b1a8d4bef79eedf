// Session store benchmarks: writing kernel events against a bare SQLite loop (the ceiling),
// and opening a large session to load one run's heatmap. scripts/bench_session.sh prints them.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "core/exec/cpu_backend.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/session/record_experiment.h"
#include "core/session/session_store.h"

namespace moescope {
namespace {

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("moescope_bench_" + std::to_string(getpid()) + "_" + name))
      .string();
}

void remove_session(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path + suffix);
}

// Events shaped like a real run: 16 layers, 8 devices, 64 experts, increasing times.
std::vector<profiler::Event> make_events(std::size_t count) {
  std::vector<profiler::Event> events(count);
  std::int64_t clock = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto& e = events[i];
    e.step = static_cast<int>(i / 1024 / 16);
    e.layer = static_cast<int>(i / 1024 % 16);
    e.expert = static_cast<int>(i % 64);
    e.device = e.expert / 8;
    e.phase = profiler::Phase::kExpert;
    e.start_ns = clock;
    e.end_ns = clock + 5000 + static_cast<std::int64_t>(i % 97) * 13;
    clock = e.end_ns;
  }
  return events;
}

RunHeader header() {
  RunHeader h;
  h.name = "bench";
  h.model = "olmoe-1b-7b";
  h.devices = 8;
  h.tokens = 4096;
  h.steps = 1;
  h.backend = "cpu";
  h.timing = "composed";
  h.request_json = "{}";
  return h;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The ceiling: the same rows into the same table, one prepared statement, one transaction.
double bare_sqlite_insert(const std::string& path, const std::vector<profiler::Event>& events) {
  {
    SessionStore create(path, SessionStore::Access::kWrite);
    create.begin_run(header());
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
               "INSERT INTO strings (value) VALUES ('expert')",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO timeline_spans (run, step, layer, device, stream, expert, phase, "
                     "start_ns, end_ns, name) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                     -1, &insert, nullptr);
  const auto start = std::chrono::steady_clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (const auto& e : events) {
    sqlite3_bind_int64(insert, 1, e.step);
    sqlite3_bind_int64(insert, 2, e.layer);
    sqlite3_bind_int64(insert, 3, e.device);
    sqlite3_bind_int64(insert, 4, e.stream);
    sqlite3_bind_int64(insert, 5, e.expert);
    sqlite3_bind_int64(insert, 6, static_cast<int>(e.phase));
    sqlite3_bind_int64(insert, 7, e.start_ns);
    sqlite3_bind_int64(insert, 8, e.end_ns);
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  const double seconds = seconds_since(start);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return seconds;
}

void BM_EventWriteVsBareSqlite(benchmark::State& state) {
  const auto count = static_cast<std::size_t>(state.range(0));
  const auto events = make_events(count);
  const std::string bare_path = temp_file("bare.moescope");
  const std::string store_path = temp_file("store.moescope");
  double bare = 0, store = 0;
  for (auto _ : state) {
    remove_session(bare_path);
    remove_session(store_path);
    bare += bare_sqlite_insert(bare_path, events);
    SessionStore session(store_path, SessionStore::Access::kWrite);
    const auto run = session.begin_run(header());
    const auto start = std::chrono::steady_clock::now();
    session.write_spans(run, events);
    store += seconds_since(start);
  }
  const double n = static_cast<double>(state.iterations()) * static_cast<double>(count);
  state.counters["store_events_per_s"] = n / store;
  state.counters["bare_events_per_s"] = n / bare;
  state.counters["store_vs_bare"] = bare / store;
  remove_session(bare_path);
  remove_session(store_path);
}
BENCHMARK(BM_EventWriteVsBareSqlite)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_EventWriteVsBareSqlite)->Name("BM_EventWriteSmoke")->Arg(10'000)->Iterations(1);

// 100 runs of a 16-layer, 64-expert model with 10,000 events each: 1 million events.
void BM_OpenSessionAndLoadHeatmap(benchmark::State& state) {
  const int runs = static_cast<int>(state.range(0));
  const std::size_t events_per_run = static_cast<std::size_t>(state.range(1));
  const std::string path = temp_file("large.moescope");
  remove_session(path);
  {
    Experiment e;
    e.model.scale = 256;
    e.routing.tokens = 64;
    e.policies.kinds = {};  // the baseline alone
    const auto backend = make_cpu_backend();
    SessionStore store(path, SessionStore::Access::kWrite);
    const auto events = make_events(events_per_run);
    for (int r = 0; r < runs; r += 1) {
      // A baseline run with real loads for 16 layers; then bulk spans.
      const auto recorded = record_experiment(store, e, *backend, nullptr, nullptr);
      store.write_spans(recorded.batches.front().run_ids.front(), events);
    }
  }
  std::int64_t cells = 0;
  for (auto _ : state) {
    SessionStore store(path, SessionStore::Access::kRead);
    const auto loads = store.expert_loads(runs / 2);
    cells = static_cast<std::int64_t>(loads.size());
    benchmark::DoNotOptimize(loads.data());
  }
  SessionStore store(path, SessionStore::Access::kRead);
  const auto total_events = store.span_count();
  state.counters["events"] = static_cast<double>(total_events);
  state.counters["heatmap_cells"] = static_cast<double>(cells);
  state.counters["bytes_per_event"] =
      static_cast<double>(std::filesystem::file_size(path)) / static_cast<double>(total_events);
  remove_session(path);
}
BENCHMARK(BM_OpenSessionAndLoadHeatmap)->Args({100, 10'000})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moescope

BENCHMARK_MAIN();
