#include "core/session/rerun.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/session/record_experiment.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

class RerunTest : public ::testing::Test {
 protected:
  std::string path_ =
      (std::filesystem::temp_directory_path() /
       ("moescope_rerun_" + std::to_string(getpid()) + "_" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".moescope"))
          .string();
  void SetUp() override { remove_files(); }
  void TearDown() override { remove_files(); }
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_ + suffix);
  }

  static Experiment comparison() {
    Experiment e;
    e.model.preset = "qwen1.5-moe-a2.7b";
    e.model.scale = 64;
    e.model.layers = {2, 5};
    e.routing.tokens = 80;
    e.routing.skew = 1.0;
    e.seed = 11;
    e.steps = 2;
    e.devices = {4};
    e.policies.kinds = compared_kinds();
    e.policies.gammas = {0.75};
    e.policies.ms = {2};
    e.policies.capacity_scope = CapacityScope::kSource;
    e.policies.renormalize = true;
    e.backend = "cpu";
    return e;
  }
};

TEST_F(RerunTest, EveryRunOfAComparisonComesBackBitForBitTimesAside) {
  SessionStore store(path_, SessionStore::Access::kWrite);
  const auto backend = make_cpu_backend();
  const RecordedExperiment first =
      record_experiment(store, comparison(), *backend, nullptr, nullptr);
  ASSERT_TRUE(first.group.has_value());
  for (const std::int64_t id : first.batches.front().run_ids) {
    const StoredRun old = store.run(id);
    SCOPED_TRACE(old.policy);
    const RecordedExperiment again =
        record_experiment(store, rerun_experiment(old), *backend, nullptr, nullptr);
    ASSERT_EQ(again.batches.size(), 1u);
    const std::int64_t fresh = again.batches.front().run_ids.back();
    const StoredRun made = store.run(fresh);
    EXPECT_EQ(made.policy, old.policy);
    EXPECT_EQ(made.policy_json, old.policy_json);
    EXPECT_EQ(made.tokens, old.tokens);
    EXPECT_EQ(made.devices, old.devices);
    EXPECT_EQ(test::without_times(store.expert_loads(fresh)),
              test::without_times(store.expert_loads(id)));
    EXPECT_EQ(test::without_times(store.layer_stats(fresh)),
              test::without_times(store.layer_stats(id)));
    // Load metrics in the summary too.
    auto metric = [&](std::int64_t run, const std::string& name) {
      for (const auto& m : store.metrics(run))
        if (m.name == name) return m.mean;
      return -1.0;
    };
    for (const char* name : {"imbalance_kept", "drop_rate", "gate_mass_kept", "output_error",
                             "added_pairs", "tokens_fully_dropped", "balancedness_kept"}) {
      EXPECT_EQ(metric(fresh, name), metric(id, name)) << name;
    }
  }
}

TEST_F(RerunTest, ARunWithoutARequestIsRefusedNamingIt) {
  StoredRun imported;
  imported.id = 17;
  imported.request_json = "not json";
  try {
    rerun_experiment(imported);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "run 17 holds no request that can be run again");
  }
}

// Two processes' worth of writers (a connection each) record comparisons at once: each
// comparison gets a group of its own, numbered inside the transaction that stores its runs.
TEST_F(RerunTest, ConcurrentComparisonsNeverShareAGroup) {
  { SessionStore create(path_, SessionStore::Access::kWrite); }
  Experiment small = comparison();
  small.steps = 1;
  small.model.layers = {0};
  std::vector<std::optional<std::int64_t>> groups(6);
  std::vector<std::string> errors(2);
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      try {
        SessionStore store(path_, SessionStore::Access::kWrite);
        const auto backend = make_cpu_backend();
        for (int i = 0; i < 3; ++i)
          groups[static_cast<std::size_t>(w * 3 + i)] =
              record_experiment(store, small, *backend, nullptr, nullptr).group;
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(w)] = e.what();
      }
    });
  }
  for (auto& t : writers)
    t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  std::set<std::int64_t> distinct;
  for (const auto& g : groups) {
    ASSERT_TRUE(g.has_value());
    distinct.insert(*g);
  }
  EXPECT_EQ(distinct.size(), 6u);
  EXPECT_EQ(SessionStore(path_, SessionStore::Access::kRead).runs().size(), 6u * 4u);
}

}  // namespace
}  // namespace moescope
