// Runs on replicated experts (shared/ALGORITHMS.md, Replicated experts): replicas change no
// output, bit for bit; the slots' rows, times and devices add up; the plan balances the devices;
// the session keeps every slot.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>

#include <unistd.h>

#include "core/base/cpu_features.h"
#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/exec/onednn_matmul.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/run/run_rows.h"
#include "core/run/runner.h"
#include "core/session/session_store.h"

namespace moescope {
namespace {

RunOptions replicated_run(int scale = 32) {
  RunOptions o;
  o.spec = scaled(preset("olmoe-1b-7b"), scale);  // E 64, top-8
  o.spec.layer_subset = {0, 5};
  o.steps = 2;
  o.devices = 8;
  o.replication.replicas = 8;  // 72 slots, 9 per device
  PolicyConfig replicate;
  replicate.replicated = true;
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  PolicyConfig drop_on_replicas = drop;
  drop_on_replicas.replicated = true;
  o.policies = {replicate, drop, drop_on_replicas};
  return o;
}

RunResult run_on_cpu(const RunOptions& o, int tokens, CpuPrecision precision) {
  auto source = make_synthetic_routing(o.spec, {tokens, 3, 1.5});
  const auto backend = make_cpu_backend(precision);
  return run_model(o, *source, *backend, nullptr, nullptr);
}

// The replicated runs' output errors against the unreplicated ones, each record's largest.
double largest_difference(const RunResult& r) {
  double out = 0;
  for (std::size_t i = 0; i < r.runs[0].records.size(); ++i) {
    out = std::max(out, r.runs[1].records[i].output_error);  // replicate against none
    out = std::max(out, std::abs(r.runs[3].records[i].output_error -
                                 r.runs[2].records[i].output_error));  // drop, on replicas or not
  }
  return out;
}

TEST(ReplicatedRun, ReplicasChangeNoOutputBitForBit) {
  // Experts of 384 KB (OLMoE / 8) compute with oneDNN in both precisions, or with the per-row
  // skinny kernels at 8 tokens: on up to 2 threads a row's result does not depend on how many
  // rows its product has, so replicas give the unreplicated layer's bits. With more threads
  // oneDNN may split a product's reduction by its size: the last bits may move there.
  const double tolerance = onednn_threads() <= 2 ? 0.0 : 1e-6;
  for (CpuPrecision precision : {CpuPrecision::kFp32, CpuPrecision::kBf16}) {
    if (precision == CpuPrecision::kBf16 && !detect_cpu_features().avx512_bf16) continue;
    for (int tokens : {8, 256, 2048}) {
      const RunResult r = run_on_cpu(replicated_run(8), tokens, precision);
      ASSERT_EQ(r.runs.size(), 4u);
      EXPECT_LE(largest_difference(r), tolerance)
          << "T=" << tokens << (precision == CpuPrecision::kBf16 ? " bf16" : " fp32");
      for (std::size_t i = 0; i < r.runs[0].records.size(); ++i) {
        EXPECT_FALSE(r.runs[1].records[i].same_work_as_baseline);
        EXPECT_EQ(r.runs[3].records[i].load.kept_load, r.runs[2].records[i].load.kept_load);
      }
    }
  }
}

TEST(ReplicatedRun, SmallFp32ExpertsDifferOnlyInTheLastBits) {
  // fp32 experts under 256 KB compute with OpenBLAS, whose rows round differently with the
  // number of rows in a product: replicas move the last bits (relative 1e-8), no more.
  const RunResult r = run_on_cpu(replicated_run(32), 256, CpuPrecision::kFp32);
  EXPECT_LT(largest_difference(r), 1e-7);
}

TEST(ReplicatedRun, SlotsAddUpAndThePlanBalancesTheDevices) {
  const RunResult r = run_on_cpu(replicated_run(), 512, CpuPrecision::kFp32);
  ASSERT_EQ(r.replica_plans.size(), 2u);
  EXPECT_EQ(r.runs[1].config.replicated, true);
  double balance_none = 0, balance_replicated = 0;
  for (std::size_t i = 0; i < r.runs[0].records.size(); ++i) {
    const LayerRecord& base = r.runs[0].records[i];
    const LayerRecord& rec = r.runs[1].records[i];
    ASSERT_EQ(rec.slot_expert.size(), 72u);
    ASSERT_EQ(rec.slot_rows.size(), 72u);
    ASSERT_EQ(rec.slot_ns.size(), 72u);
    EXPECT_EQ(rec.slot_expert, r.replica_plans[i % 2].slot_expert);
    // Every kept pair was computed by exactly one slot of its expert.
    std::vector<std::int64_t> rows_of_expert(64, 0), ns_of_expert(64, 0);
    for (std::size_t s = 0; s < 72; ++s) {
      rows_of_expert[static_cast<std::size_t>(rec.slot_expert[s])] += rec.slot_rows[s];
      ns_of_expert[static_cast<std::size_t>(rec.slot_expert[s])] += rec.slot_ns[s];
    }
    EXPECT_EQ(rows_of_expert, rec.load.kept_load);
    EXPECT_EQ(ns_of_expert, rec.expert_ns);
    EXPECT_EQ(std::accumulate(rec.load.kept_device_load.begin(), rec.load.kept_device_load.end(),
                              std::int64_t{0}),
              512 * 8);
    // The timeline names logical experts, on the plan's devices.
    for (const auto& e : rec.timeline.events) {
      EXPECT_LT(e.expert, 64);
      EXPECT_LT(e.device, 8);
    }
    balance_none += base.load.balancedness_kept;
    balance_replicated += rec.load.balancedness_kept;
  }
  // Skew 1.5 makes a few experts hot; 8 replicas of the hottest even the devices out.
  EXPECT_GT(balance_replicated, balance_none + 0.1);
}

TEST(ReplicatedRun, RefusesPlansThatDoNotFit) {
  RunOptions o = replicated_run();
  o.replication.replicas = 3;
  auto source = make_synthetic_routing(o.spec, {64, 0, 0.6});
  try {
    check_run_options(o, *source);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("67 slots do not split evenly over 8 devices"),
              std::string::npos)
        << e.what();
  }
  o.replication.replicas = 8;
  o.replication.calibration_steps = 3;
  EXPECT_THROW(check_run_options(o, *source), Error);
  // Loads measured elsewhere must have tokens in every layer the run visits.
  o.replication.calibration_steps = 1;
  o.replication.calibration_loads.assign(6, std::vector<double>(64, 1.0));
  o.replication.calibration_loads[5].assign(64, 0.0);
  o.replication.calibration_source = "counts.json";
  try {
    check_run_options(o, *source);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(counts.json) are all zero for layer 5"),
              std::string::npos)
        << e.what();
  }
  // Device-scope capacity on replicas bounds no real device.
  o.replication.calibration_loads.clear();
  o.policies[2].capacity_scope = CapacityScope::kDevice;
  EXPECT_THROW(check_run_options(o, *source), Error);
}

TEST(ReplicatedRun, TheSessionKeepsEverySlot) {
  const RunResult r = run_on_cpu(replicated_run(), 128, CpuPrecision::kFp32);
  const RunRows rows = tabulate_run(r, 1);
  ASSERT_EQ(rows.replica_slots.size(), 2u * 2u * 72u);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("moescope_replicas_" + std::to_string(getpid()) + ".moescope"))
                               .string();
  std::filesystem::remove(path);
  {
    SessionStore store(path, SessionStore::Access::kWrite);
    RunHeader header;
    header.model = r.spec.name;
    header.policy = r.runs[1].config;
    header.devices = 8;
    header.tokens = 128;
    header.steps = 2;
    header.backend = "cpu";
    header.timing = "composed";
    const std::int64_t id = store.begin_run(header);
    store.finish_run(id, rows);
    EXPECT_EQ(store.replica_slots(id), rows.replica_slots);
    EXPECT_EQ(store.run(id).policy, "replicate");
    // A replicated expert is listed on the device of its first slot.
    const auto loads = store.expert_loads(id);
    const auto& slots = rows.replica_slots;
    for (const auto& load : loads) {
      for (const auto& s : slots) {
        if (s.step == load.step && s.layer == load.layer && s.expert == load.expert) {
          EXPECT_EQ(load.device, s.device);
          break;
        }
      }
    }
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moescope
