// The modeled timeline: a cost model fitted on this machine, kept in a file, and runs whose
// timelines come from the loads alone.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/exec/backend_registry.h"
#include "core/exec/cpu_backend.h"
#include "core/model/presets.h"
#include "core/run/calibration.h"
#include "core/run/cost_model_file.h"
#include "core/run/summary.h"
#include "core/session/record_experiment.h"

namespace moescope {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("moescope_cost_" + std::to_string(getpid()) + "_" + name))
      .string();
}

TEST(CostModel, AnExactLineFitsExactly) {
  const LinearFit fit = fit_linear({{1, 110}, {2, 120}, {8, 180}, {64, 740}});
  EXPECT_NEAR(fit.intercept_ns, 100, 1e-9);
  EXPECT_NEAR(fit.slope_ns, 10, 1e-9);
  EXPECT_NEAR(fit.relative_rms, 0, 1e-12);
  EXPECT_THROW(fit_linear({{4, 10}, {4, 12}}), Error);  // one size: no slope to fit
}

TEST(CostModel, ALayerIsModeledFromItsRowsAlone) {
  CostModel model;
  model.expert = fit_linear({{1, 1000 + 50}, {100, 1000 + 5000}});  // 1000 + 50 per row
  model.dispatch = fit_linear({{1, 10 + 2}, {100, 10 + 200}});      // 10 + 2 per row
  model.combine = fit_linear({{1, 20 + 3}, {100, 20 + 300}});       // 20 + 3 per pair
  model.shared = fit_linear({{1, 500 + 7}, {100, 500 + 700}});      // 500 + 7 per token
  PolicyOutcome outcome;
  for (int t = 0; t < 6; ++t)
    outcome.kept.push_back({t, t < 4 ? 0 : 2, 1.0f, true});  // expert 0: 4 rows, expert 2: 2
  const DispatchPlan plan = make_dispatch_plan(outcome, 3, 6);
  const LayerExecution e = model_layer(model, plan, /*shared_experts=*/true);
  EXPECT_EQ(e.expert_ns, (std::vector<std::int64_t>{1200, 0, 1100}));
  EXPECT_EQ(e.dispatch_ns, 10 + 2 * 6);
  EXPECT_EQ(e.combine_ns, 20 + 3 * 6);
  EXPECT_EQ(e.shared_ns, 500 + 7 * 6);
  EXPECT_EQ(model_layer(model, plan, false).shared_ns, 0);
}

TEST(CostModel, TheFileKeepsOnePerMachineBackendAndShape) {
  const std::string path = temp("file.json");
  std::filesystem::remove(path);
  EXPECT_TRUE(load_cost_models(path).empty());  // none yet
  const ModelSpec spec = scaled(preset("olmoe-1b-7b"), 16);
  CostModel a;
  a.machine = "box";
  a.backend = "cpu";
  a.hidden = spec.hidden;
  a.expert_ffn = spec.expert_ffn;
  a.expert = fit_linear({{1, 2}, {2, 3}});
  save_cost_model(path, a);
  CostModel b = a;
  b.expert = fit_linear({{1, 5}, {2, 9}});
  save_cost_model(path, b);  // replaces a
  CostModel other = a;
  other.machine = "another box";
  save_cost_model(path, other);
  const auto models = load_cost_models(path);
  ASSERT_EQ(models.size(), 2u);
  const auto found = find_cost_model(models, "box", "cpu", spec);
  ASSERT_TRUE(found.has_value());
  EXPECT_NEAR(found->expert.slope_ns, 4, 1e-9);
  EXPECT_FALSE(find_cost_model(models, "box", "cuda", spec).has_value());
  EXPECT_FALSE(find_cost_model(models, "box", "cpu", scaled(preset("olmoe-1b-7b"), 8)));
  { std::ofstream(path) << R"({"models": [{"machine": "x"}]})"; }
  try {
    load_cost_models(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(Calibration, FitsTheCpuBackendOnThisMachine) {
  const ModelSpec spec = scaled(preset("deepseek-v2-lite"), 32);  // with shared experts
  const auto backend = make_cpu_backend();
  CalibrationOptions options;
  options.tokens = 256;
  options.repeats = 2;
  std::int64_t last = 0, total = 0;
  const CostModel model = calibrate(
      *backend, spec, options, [&](std::int64_t d, std::int64_t t) { last = d, total = t; },
      nullptr);
  EXPECT_EQ(last, total);
  EXPECT_EQ(model.machine, backend->machine());
  EXPECT_NE(model.machine.find("oneDNN"), std::string::npos) << model.machine;
  EXPECT_TRUE(model.fits(backend->machine(), "cpu", spec));
  EXPECT_EQ(model.expert.points.size(), calibration_rows(spec, options).size());
  EXPECT_GT(model.expert.slope_ns, 0);  // more rows take longer
  EXPECT_GT(model.shared.slope_ns, 0);
  EXPECT_TRUE(std::isfinite(model.expert.relative_rms));
}

class ModeledRun : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::remove(models_path_); }
  void TearDown() override {
    std::filesystem::remove(models_path_);
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(session_ + suffix);
  }
  static Experiment comparison(const std::string& timing) {
    Experiment e;
    e.model.scale = 32;
    e.model.layers = {0, 5, 9};
    e.routing.tokens = 256;
    e.repeats = 3;
    e.devices = {4};
    e.policies.kinds = compared_kinds();
    e.backend = "cpu";
    e.timing = timing;
    return e;
  }
  std::string models_path_ = temp("models.json");
  std::string session_ = temp("session.moescope");
};

TEST_F(ModeledRun, CalibratesWhenNeededAndIsTheSameOnEveryRerun) {
  SessionStore store(session_, SessionStore::Access::kWrite);
  const auto backend = make_cpu_backend();
  CostModels models(models_path_);
  const RecordedExperiment first =
      record_experiment(store, comparison("modeled"), *backend, nullptr, nullptr, &models);
  ASSERT_EQ(load_cost_models(models_path_).size(), 1u);  // calibrated and kept
  const RecordedExperiment second =
      record_experiment(store, comparison("modeled"), *backend, nullptr, nullptr, &models);
  EXPECT_EQ(load_cost_models(models_path_).size(), 1u);  // found, not fitted again
  for (std::size_t i = 0; i < first.batches.front().run_ids.size(); ++i) {
    const auto a = store.layer_stats(first.batches.front().run_ids[i]);
    const auto b = store.layer_stats(second.batches.front().run_ids[i]);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t l = 0; l < a.size(); ++l) {
      // Deterministic: the same loads, the same modeled timeline, to the nanosecond.
      EXPECT_EQ(a[l].latency_ns, b[l].latency_ns);
      EXPECT_EQ(a[l].latency_ns, *a[l].modeled_latency_ns);
      EXPECT_EQ(a[l].latency_low_ns, a[l].latency_ns);  // no spread
      EXPECT_GT(a[l].composed_latency_ns, 0);           // and the measured one beside it
    }
    EXPECT_EQ(store.run(first.batches.front().run_ids[i]).timing, "modeled");
  }
  // The speedup of a modeled run is the ratio of modeled latencies, exact.
  const RunSummary drop =
      summarize(first.batches.front().result.runs[1], first.batches.front().result.runs[0]);
  EXPECT_FALSE(drop.stat("speedup").interval.has_value());
  EXPECT_TRUE(drop.has("composed_latency_ns"));
  EXPECT_TRUE(drop.stat("composed_latency_ns").interval.has_value());
}

TEST_F(ModeledRun, AComposedRunShowsTheModeledLatencyBesideItsOwnWhenThereIsAModel) {
  SessionStore store(session_, SessionStore::Access::kWrite);
  const auto backend = make_cpu_backend();
  CostModels models(models_path_);
  const auto without =
      record_experiment(store, comparison("composed"), *backend, nullptr, nullptr, &models);
  EXPECT_FALSE(
      summarize(without.batches.front().result.runs[0], without.batches.front().result.runs[0])
          .has("modeled_latency_ns"));
  EXPECT_TRUE(load_cost_models(models_path_).empty());  // a composed run never calibrates
  record_experiment(store, comparison("modeled"), *backend, nullptr, nullptr, &models);
  const auto with =
      record_experiment(store, comparison("composed"), *backend, nullptr, nullptr, &models);
  const auto layers = store.layer_stats(with.batches.front().run_ids[1]);
  for (const auto& l : layers) {
    EXPECT_TRUE(l.modeled_latency_ns.has_value());
    EXPECT_EQ(l.latency_ns, l.composed_latency_ns);
  }
  EXPECT_EQ(store.run(with.batches.front().run_ids[1]).timing, "composed");
}

TEST_F(ModeledRun, MeasuredWithoutRanksAndUnknownTimingsAreRefused) {
  // Measured timings come from ranks (one process per device), on one device count.
  Experiment e = resolve(comparison("measured"));
  EXPECT_NO_THROW(validate(e));
  SessionStore store(session_, SessionStore::Access::kWrite);
  const auto backend = make_backend("cpu");
  try {
    record_experiment(store, e, *backend, nullptr, nullptr);
    FAIL() << "a measured run without ranks was recorded";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("one process per device: mpirun -np N"),
              std::string::npos)
        << error.what();
  }
  EXPECT_TRUE(store.runs().empty());  // refused before anything was stored
  e.devices = {2, 4};
  EXPECT_THROW(validate(e), Error);
  e.devices = {4};
  e.timing = "guessed";
  EXPECT_THROW(validate(e), Error);
}

}  // namespace
}  // namespace moescope
