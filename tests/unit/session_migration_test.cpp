// Sessions written by earlier releases (tests/data/sessions/README.md) open, upgrade to the
// current schema, read back every run, export and run again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/exec/cpu_backend.h"
#include "core/run/metric_table.h"
#include "core/session/record_experiment.h"
#include "core/session/rerun.h"
#include "core/session/session_export.h"
#include "core/session/session_schema.h"
#include "core/session/sqlite_db.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

class SessionMigration : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    source_ = std::string(MOESCOPE_TEST_DATA) + "/sessions/" + GetParam();
    path_ = (std::filesystem::temp_directory_path() /
             ("moescope_migration_" + std::to_string(getpid()) + "_" + GetParam()))
                .string();
    std::filesystem::copy_file(source_, path_, std::filesystem::copy_options::overwrite_existing);
  }
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }
  std::string source_;
  std::string path_;
};

TEST_P(SessionMigration, EveryRunReadsBackAndExports) {
  const std::int64_t before =
      SqliteDb(path_, SqliteDb::Mode::kReadOnly).query_int("PRAGMA user_version");
  ASSERT_LT(before, kSessionSchemaVersion);
  SessionStore store(path_, SessionStore::Access::kRead);  // reading upgrades in place
  EXPECT_EQ(store.schema_version(), kSessionSchemaVersion);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 18u);  // 4 of the comparison, 14 of the sweep
  EXPECT_EQ(runs[1].name, "drop, renamed");
  EXPECT_EQ(runs[1].baseline_run, runs[0].id);
  EXPECT_TRUE(runs[4].group.has_value());
  for (const StoredRun& r : runs) {
    SCOPED_TRACE("run " + std::to_string(r.id));
    EXPECT_EQ(r.status, "complete");
    EXPECT_TRUE(r.policy_json.empty());  // schema 4 added it; older runs have none
    EXPECT_FALSE(r.request_json.empty());
    EXPECT_TRUE(r.latency_ns.has_value());
    EXPECT_FALSE(store.metrics(r.id).empty());
    EXPECT_FALSE(store.layer_stats(r.id).empty());
    EXPECT_FALSE(store.expert_loads(r.id).empty());
    EXPECT_FALSE(store.spans(r.id).empty());
    const auto j = export_json(store, r.id);
    EXPECT_TRUE(j["request"].is_object());
    EXPECT_FALSE(export_chrome_trace(store, r.id)["traceEvents"].empty());
  }
}

TEST_P(SessionMigration, OldRunsRunAgainWithTheSameLoads) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  const auto backend = make_cpu_backend();
  // The comparison's expanded run, a sweep point with m = 2 on 2 devices, and a baseline.
  for (const std::int64_t id : {std::int64_t{3}, std::int64_t{9}, std::int64_t{5}}) {
    const StoredRun old = store.run(id);
    SCOPED_TRACE(old.policy);
    const Experiment again = rerun_experiment(old);
    EXPECT_EQ(again.devices, std::vector<int>{old.devices});
    const RecordedExperiment recorded = record_experiment(store, again, *backend, nullptr, nullptr);
    const std::int64_t fresh = recorded.batches.front().run_ids.back();
    EXPECT_EQ(store.run(fresh).policy, old.policy);
    EXPECT_EQ(test::without_times(store.expert_loads(fresh)),
              test::without_times(store.expert_loads(id)));
    // The file was written by another build (compiler flags, BLAS kernels): the output error
    // may differ in its last bits; everything else is integers or their exact ratios.
    auto again_rows = test::without_times(store.layer_stats(fresh));
    auto old_rows = test::without_times(store.layer_stats(id));
    ASSERT_EQ(again_rows.size(), old_rows.size());
    for (std::size_t i = 0; i < old_rows.size(); ++i) {
      EXPECT_NEAR(again_rows[i].output_error, old_rows[i].output_error,
                  1e-5 * old_rows[i].output_error);
      EXPECT_NEAR(again_rows[i].gate_mass_kept, old_rows[i].gate_mass_kept, 1e-6);
      again_rows[i].output_error = old_rows[i].output_error = 0;
      again_rows[i].gate_mass_kept = old_rows[i].gate_mass_kept = 0;
      EXPECT_FALSE(old_rows[i].lost_pairs.has_value());  // schema 5 added it
      again_rows[i].lost_pairs.reset();
    }
    EXPECT_EQ(again_rows, old_rows);
  }
}

// Named "schema2", "schema3" after the file.
std::string schema_of(const ::testing::TestParamInfo<const char*>& param) {
  return std::string(param.param).substr(0, 7);
}

INSTANTIATE_TEST_SUITE_P(WrittenByEarlierReleases, SessionMigration,
                         ::testing::Values("schema2.moescope", "schema3.moescope"), schema_of);

}  // namespace
}  // namespace moescope
