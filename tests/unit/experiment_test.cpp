#include "core/run/experiment.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/run/experiment_json.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

TEST(Experiment, DefaultsAreOneDropRunOfOlmoeOnTheDefaultDevices) {
  const Experiment e = resolve(Experiment{});
  EXPECT_EQ(e.model.spec->name, "olmoe-1b-7b");
  EXPECT_EQ(device_counts(e), std::vector<int>{8});
  const auto policies = grid_policies(e);
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policy_label(policies[0]), "drop(gamma=1)");
  EXPECT_EQ(e.backend, "auto");
  EXPECT_NO_THROW(validate(e));
}

TEST(Experiment, DevicesDefaultToAtMostEightAndNoMoreThanTheExperts) {
  Experiment e;
  e.model.preset = "mixtral-8x7b";
  EXPECT_EQ(device_counts(resolve(e)), std::vector<int>{8});
  ModelSpec tiny;
  tiny.name = "tiny", tiny.layers = 2, tiny.hidden = 8, tiny.expert_ffn = 8;
  tiny.experts = 4, tiny.top_k = 2;
  e.model.spec = tiny;
  EXPECT_EQ(device_counts(e), std::vector<int>{4});
}

TEST(Experiment, TheGridRunsKindsThenGammasThenMsForExpandedOnly) {
  Experiment e;
  e.seed = 7;
  e.policies.kinds = {PolicyKind::kNone, PolicyKind::kExpanded, PolicyKind::kDrop};
  e.policies.gammas = {1, 2};
  e.policies.ms = {0, 3};
  e.policies.priority = DropPriority::kRandom;
  std::vector<std::string> labels;
  for (const auto& p : grid_policies(e)) {
    labels.push_back(policy_label(p));
    EXPECT_EQ(p.seed, 7u);
    if (p.kind != PolicyKind::kExpanded) {
      EXPECT_EQ(p.m, 0);
    }
  }
  EXPECT_EQ(labels, (std::vector<std::string>{"expanded(gamma=1,m=0)", "expanded(gamma=1,m=3)",
                                              "expanded(gamma=2,m=0)", "expanded(gamma=2,m=3)",
                                              "drop(gamma=1,random)", "drop(gamma=2,random)"}));
}

TEST(Experiment, ValidationNamesTheField) {
  const Experiment good = resolve(Experiment{});
  auto with = [&](auto change) {
    Experiment e = good;
    change(e);
    return test::error_of([&] { validate(e); });
  };
  EXPECT_NE(with([](Experiment& e) { e.steps = 0; }).find("steps"), std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.routing.tokens = 0; }).find("tokens"), std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.routing.skew = -1; }).find("skew"), std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.policies.gammas = {0}; }).find("gamma"), std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.policies.gammas = {}; }).find("gamma"), std::string::npos);
  EXPECT_NE(with([](Experiment& e) {
              e.policies.gammas = {1, 1};
            }).find("listed twice"),
            std::string::npos);
  EXPECT_NE(with([](Experiment& e) {
              e.policies.kinds = {PolicyKind::kExpanded};
              e.policies.ms = {-1};
            }).find("m must be"),
            std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.devices = {65}; }).find("between 1 and the number"),
            std::string::npos);
  EXPECT_NE(with([](Experiment& e) {
              e.placement = {0, 1};
            }).find("placement lists 2"),
            std::string::npos);
  EXPECT_NE(with([](Experiment& e) { e.backend = "tpu"; }).find("unknown backend 'tpu'"),
            std::string::npos);
  // Only the baseline: no gamma is needed.
  EXPECT_EQ(with([](Experiment& e) {
              e.policies.kinds = {PolicyKind::kNone};
              e.policies.gammas = {};
            }),
            "(no error)");
  EXPECT_NE(test::error_of([] {
              Experiment e;
              e.model.preset = "gpt-5";
              resolve(e);
            }).find("unknown preset 'gpt-5'"),
            std::string::npos);
}

TEST(ExperimentJson, RoundTripsEveryField) {
  Experiment e = demo_experiment();
  e.model.layers = {0, 3};
  e.routing.skew = 1.25;
  e.seed = 12345678901234ull;
  e.policies.gammas = {0.5, 1.5};
  e.policies.ms = {0, 2};
  e.policies.priority = DropPriority::kPosition;
  e.policies.reroute_scope = RerouteScope::kLocal;
  e.policies.capacity_scope = CapacityScope::kDevice;
  e.policies.renormalize = true;
  e.devices = {4, 8};
  e.backend = "cpu";
  e.routing.drift = 0.5;
  e.steps = 3;
  e.replication.replicas = 8;
  e.replication.choice = ReplicaChoice::kLocalFirst;
  e.replication.algorithm = EplbAlgorithm::kHierarchical;
  e.replication.nodes = 2;
  e.replication.groups = 8;
  e.replication.spread = false;
  e.replication.calibration_steps = 2;
  EXPECT_EQ(experiment_from_json(experiment_to_json(e), "test"), e);
  const Experiment resolved = resolve(e);
  EXPECT_EQ(experiment_from_json(experiment_to_json(resolved), "test"), resolved);
  // A spec file replaces the preset in the request.
  e.model.spec_file = "my.json";
  const auto j = experiment_to_json(e);
  EXPECT_FALSE(j["model"].contains("preset"));
  EXPECT_EQ(experiment_from_json(j, "test").model.spec_file, "my.json");
}

TEST(Experiment, ReplicasAddReplicateAndDropOnReplicasToTheGrid) {
  Experiment e = demo_experiment();
  e.policies.kinds = {PolicyKind::kDrop, PolicyKind::kReroute};
  e.policies.gammas = {1.0, 2.0};
  e.replication.replicas = 8;
  std::vector<std::string> labels;
  for (const auto& p : grid_policies(e))
    labels.push_back(policy_label(p));
  EXPECT_EQ(labels, (std::vector<std::string>{
                        "replicate", "drop(gamma=1)", "drop(gamma=1,per-device)",
                        "drop(gamma=1)+replicas", "drop(gamma=2)", "drop(gamma=2,per-device)",
                        "drop(gamma=2)+replicas", "reroute(gamma=1)", "reroute(gamma=2)"}));
  // Replicas that do not split over the devices, and a window beyond the steps, are refused.
  e = resolve(e);
  e.devices = {8};
  e.replication.replicas = 3;
  EXPECT_THROW(validate(e), Error);
  e.replication.replicas = 8;
  e.replication.calibration_steps = e.steps + 1;
  EXPECT_THROW(validate(e), Error);
  // A stored replicated run is rerun with its replication; an unreplicated one without.
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  EXPECT_EQ(narrowed_to(e, drop, 8).replication.replicas, 0);
  drop.replicated = true;
  EXPECT_EQ(narrowed_to(e, drop, 8).replication.replicas, 8);
  // Replicas run on the CPU: `auto` takes it, a GPU backend is refused.
  Experiment gpu = demo_experiment();
  gpu.replication.replicas = 8;
  EXPECT_EQ(resolve(gpu).backend, "cpu");
  gpu.backend = "cuda";
  EXPECT_THROW(validate(gpu), Error);
  gpu.backend = "cpu:bf16";
  EXPECT_NO_THROW(validate(resolve(gpu)));
  gpu.policies.capacity_scope = CapacityScope::kDevice;
  EXPECT_THROW(validate(gpu), Error);
}

TEST(ExperimentJson, MissingFieldsTakeTheDefaults) {
  EXPECT_EQ(experiment_from_json(nlohmann::json::object(), "test"), Experiment{});
}

TEST(ExperimentJson, RefusesUnknownFieldsAndWrongTypesNamingThem) {
  auto error = [](const char* text) {
    return test::error_of([&] { experiment_from_json(nlohmann::json::parse(text), "req.json"); });
  };
  EXPECT_EQ(error(R"({"stepz": 2})"), "req.json: 'stepz' is not a known field");
  EXPECT_EQ(error(R"({"policies": {"gamma": [1, "x"]}})"),
            "req.json: 'policies.gamma[1]' must be a number, got \"x\"");
  EXPECT_EQ(error(R"({"routing": {"tokens": 1.5}})"),
            "req.json: 'routing.tokens' must be an integer, got 1.5");
  EXPECT_NE(error(R"({"policies": {"kinds": ["dropp"]}})").find("'policies.kinds' is not valid"),
            std::string::npos);
  EXPECT_EQ(error(R"({"seed": -1})"), "req.json: 'seed' must be a non-negative integer");
  EXPECT_EQ(error(R"([1, 2])"), "req.json: 'the request' must be an object");
  EXPECT_NE(error(R"({"model": {"spec": {"layers": 2}}})").find("model.spec"), std::string::npos);
}

TEST(ExperimentJson, ReadsTheRequestsOfSchemaThreeSessions) {
  // What sessions of schema 3 and older stored with a run.
  const auto legacy = nlohmann::json::parse(R"json({
    "model": {"name": "olmoe-1b-7b/16", "layers": 16, "hidden": 128, "expert_ffn": 64,
              "experts": 64, "top_k": 8, "shared_experts": 0, "shared_ffn": 0,
              "shared_gate_sigmoid": false, "norm_topk_prob": false},
    "policy": {"policy": "expanded", "gamma": 1.5, "capacity_scope": "source",
               "renormalize": true, "m": 2},
    "tokens": 512, "steps": 2, "devices": 8, "placement": [], "backend": "auto", "seed": 3,
    "routing": "synthetic(seed=3, skew=0.75)"})json");
  const Experiment e = experiment_from_json(legacy, "run 4");
  ASSERT_TRUE(e.model.spec.has_value());
  EXPECT_EQ(e.model.spec->hidden, 128);
  EXPECT_EQ(e.routing.tokens, 512);
  EXPECT_DOUBLE_EQ(e.routing.skew, 0.75);
  EXPECT_EQ(e.devices, std::vector<int>{8});
  EXPECT_EQ(e.seed, 3u);
  const auto policies = grid_policies(e);
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policy_label(policies[0]), "expanded(gamma=1.5,m=2,per-source,renorm)");
  auto replay = legacy;
  replay["routing"] = "replay(/data/logits.safetensors)";
  EXPECT_EQ(experiment_from_json(replay, "run 4").routing.logits_file, "/data/logits.safetensors");
}

TEST(Experiment, NarrowedToOneRunKeepsEverythingElse) {
  Experiment e = demo_experiment();
  e.policies.gammas = {1, 2};
  e.devices = {4, 8};
  PolicyConfig expanded = grid_policies(e)[3];
  ASSERT_EQ(policy_label(expanded), "expanded(gamma=2,m=1)");
  const Experiment one = narrowed_to(e, expanded, 4);
  EXPECT_EQ(one.devices, std::vector<int>{4});
  ASSERT_EQ(grid_policies(one).size(), 1u);
  EXPECT_EQ(policy_label(grid_policies(one)[0]), "expanded(gamma=2,m=1)");
  EXPECT_EQ(one.routing, e.routing);
  EXPECT_EQ(one.model, e.model);
  EXPECT_TRUE(grid_policies(narrowed_to(e, PolicyConfig{}, 8)).empty());  // the baseline alone
}

}  // namespace
}  // namespace moescope
