// Load dumps: the experts a serving engine chose (`model.layers.{i}.topk_ids`, written by
// scripts/convert_load_dump.py) replayed as routing without scores. The routed loads are the
// dump's, drop by position or at random runs, and everything that needs the router's scores is
// refused before the run, as is a file with bad ids.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/exec/cpu_backend.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/safetensors.h"
#include "core/model/presets.h"
#include "core/moe/router.h"
#include "core/run/runner.h"

namespace moescope {
namespace {

constexpr int kTokens = 48;

ModelSpec small_spec() {
  ModelSpec spec = scaled(preset("olmoe-1b-7b"), 32);  // E 64, top-8
  spec.layer_subset = {0, 3};
  return spec;
}

// Ids with a hot expert: token t chooses experts (t + j * 7) % 64 for slots j > 0 and expert 5
// in slot 0, so expert 5 gets every token.
std::vector<float> hot_ids(int tokens, int k) {
  std::vector<float> ids;
  for (int t = 0; t < tokens; ++t) {
    ids.push_back(5.0f);
    for (int j = 1; j < k; ++j) {
      int e = (t + j * 7) % 64;
      if (e == 5) e = 63 - j;
      ids.push_back(static_cast<float>(e));
    }
  }
  return ids;
}

class LoadDump : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "load-dump-" + std::to_string(::getpid()) + ".safetensors";
  }
  void TearDown() override { std::remove(path_.c_str()); }

  void write(const std::vector<TensorToWrite>& tensors) { write_safetensors(path_, tensors); }
  void write_ids(const std::vector<float>& layer0, const std::vector<float>& layer3) {
    const int k = small_spec().top_k;
    const auto rows = static_cast<std::int64_t>(layer0.size()) / k;
    write({{topk_ids_tensor_name(0), {rows, k}, layer0},
           {topk_ids_tensor_name(3), {static_cast<std::int64_t>(layer3.size()) / k, k}, layer3}});
  }
  std::string refusal() {
    try {
      make_replay_routing(small_spec(), path_, 0);
    } catch (const Error& e) {
      return e.what();
    }
    return "accepted";
  }

  std::string path_;
};

TEST_F(LoadDump, RoutedLoadsAreTheDumpsAndPositionDropRuns) {
  const ModelSpec spec = small_spec();
  write_ids(hot_ids(kTokens, spec.top_k), hot_ids(kTokens, spec.top_k));
  auto source = make_replay_routing(spec, path_, 0);
  EXPECT_FALSE(source->has_scores());
  EXPECT_NE(source->describe().find("chosen experts only, pair weights 1/k"), std::string::npos)
      << source->describe();
  RunOptions o;
  o.spec = spec;
  o.devices = 4;
  PolicyConfig drop;
  drop.kind = PolicyKind::kDrop;
  drop.priority = DropPriority::kPosition;
  PolicyConfig random = drop;
  random.priority = DropPriority::kRandom;
  o.policies = {drop, random};
  auto backend = make_cpu_backend();
  const RunResult r = run_model(o, *source, *backend, nullptr, nullptr);
  ASSERT_EQ(r.runs.size(), 3u);
  const LoadMetrics& base = r.runs[0].records[0].load;
  EXPECT_EQ(base.routed_load[5], kTokens);  // every token chose expert 5
  std::int64_t pairs = 0;
  for (auto n : base.routed_load)
    pairs += n;
  EXPECT_EQ(pairs, static_cast<std::int64_t>(kTokens) * spec.top_k);
  // Capacity is about kTokens * 8 / 64 = 6 rows: the hot expert loses most of its pairs.
  EXPECT_GT(r.runs[1].records[0].load.drop_rate, 0.0);
  EXPECT_LT(r.runs[1].records[0].load.kept_load[5], kTokens);
}

TEST_F(LoadDump, PoliciesThatNeedScoresAreRefusedBeforeTheRun) {
  const ModelSpec spec = small_spec();
  write_ids(hot_ids(kTokens, spec.top_k), hot_ids(kTokens, spec.top_k));
  auto source = make_replay_routing(spec, path_, 0);
  RunOptions o;
  o.spec = spec;
  o.devices = 4;
  PolicyConfig by_score;
  by_score.kind = PolicyKind::kDrop;  // priority score, the default
  PolicyConfig reroute;
  reroute.kind = PolicyKind::kReroute;
  PolicyConfig expanded;
  expanded.kind = PolicyKind::kExpanded;
  for (const PolicyConfig& p : {by_score, reroute, expanded}) {
    o.policies = {p};
    try {
      check_run_options(o, *source);
      ADD_FAILURE() << policy_label(p) << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("needs the router's scores"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("drop with priority position or random"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST_F(LoadDump, BadIdsAreNamedByTensorTokenAndSlot) {
  const int k = small_spec().top_k;
  std::vector<float> ids = hot_ids(kTokens, k);
  ids[3 * k + 2] = 64;
  write_ids(hot_ids(kTokens, k), ids);
  EXPECT_NE(refusal().find("'model.layers.3.topk_ids' holds 64 at token 3, slot 2; expert "
                           "ids are whole numbers from 0 to 63"),
            std::string::npos)
      << refusal();
  ids = hot_ids(kTokens, k);
  ids[2] = 0.5f;
  write_ids(ids, hot_ids(kTokens, k));
  EXPECT_NE(refusal().find("holds 0.5 at token 0, slot 2"), std::string::npos) << refusal();
  write({{topk_ids_tensor_name(0), {kTokens, k}, hot_ids(kTokens, k), "BF16"},
         {topk_ids_tensor_name(3), {kTokens, k}, hot_ids(kTokens, k), "BF16"}});
  EXPECT_NE(refusal().find("is BF16; chosen experts are stored as F32"), std::string::npos)
      << refusal();
  ids = hot_ids(kTokens, k);
  ids[k + 1] = ids[k];  // token 1 chooses expert 5 twice
  write_ids(ids, hot_ids(kTokens, k));
  EXPECT_NE(refusal().find("chooses expert 5 twice at token 1 (layer 0)"), std::string::npos)
      << refusal();
  write_ids(hot_ids(kTokens, k), hot_ids(kTokens - 1, k));
  EXPECT_NE(refusal().find("has 47 tokens but earlier layers have 48"), std::string::npos)
      << refusal();
  // A file that mixes logits and chosen experts is not one kind or the other.
  write({{topk_ids_tensor_name(0), {kTokens, k}, hot_ids(kTokens, k)},
         {logits_tensor_name(3), {kTokens, 64}, std::vector<float>(kTokens * 64, 0.0f)}});
  EXPECT_NE(refusal().find("layer 3 has router logits where earlier layers have chosen experts"),
            std::string::npos)
      << refusal();
  // Ids for another top-k.
  write({{topk_ids_tensor_name(0), {kTokens, 4}, std::vector<float>(kTokens * 4, 1.0f)}});
  EXPECT_NE(refusal().find("'model.layers.0.topk_ids' has 4 columns, the model's top-k is 8"),
            std::string::npos)
      << refusal();
}

TEST(RouteFromIds, EveryChosenPairWeighsOneKth) {
  const std::vector<int> ids = {3, 1, 0, 2};
  const RouterOutput r = route_from_ids(ids.data(), 2, 4, 2);
  EXPECT_FLOAT_EQ(r.weight(0, 3), 0.5f);
  EXPECT_FLOAT_EQ(r.weight(1, 2), 0.5f);
  EXPECT_FLOAT_EQ(r.prob(0, 0), 0.0f);
  EXPECT_EQ(r.topk_expert(1, 0), 0);
  const std::vector<int> twice = {1, 1};
  EXPECT_THROW(route_from_ids(twice.data(), 1, 4, 2), Error);
}

}  // namespace
}  // namespace moescope
