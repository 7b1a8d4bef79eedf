// Properties of the policies checked on many random inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/base/random.h"
#include "core/moe/load_metrics.h"
#include "core/moe/policy.h"
#include "core/moe/routing_math.h"
#include "tests/unit/test_support.h"

namespace moescope {
namespace {

struct Case {
  int tokens, experts, top_k, devices;
  double gamma;
  std::uint64_t seed;
  RouterOutput router;
};

Case random_case(std::uint64_t seed) {
  Rng rng({seed, 99});
  Case c;
  c.experts = 1 + static_cast<int>(rng.next() % 40);
  c.top_k = 1 + static_cast<int>(rng.next() % static_cast<std::uint64_t>(c.experts));
  c.tokens = 1 + static_cast<int>(rng.next() % 300);
  c.devices = 1 + static_cast<int>(rng.next() % static_cast<std::uint64_t>(c.experts));
  c.gamma = 0.05 + 2.5 * rng.uniform();
  c.seed = seed;
  const auto logits = test::random_logits(c.tokens, c.experts, 3.0 * rng.uniform(), seed);
  c.router = route(logits.data(), c.tokens, c.experts, c.top_k, rng.next() % 2 == 0);
  return c;
}

std::set<std::pair<std::int64_t, int>> pair_set(const PolicyOutcome& o) {
  std::set<std::pair<std::int64_t, int>> s;
  for (const auto& p : o.kept)
    s.insert({p.token, p.expert});
  return s;
}

std::vector<PolicyConfig> all_configs(const Case& c) {
  std::vector<PolicyConfig> out;
  for (auto kind :
       {PolicyKind::kNone, PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute}) {
    for (auto scope : {CapacityScope::kGlobal, CapacityScope::kSource, CapacityScope::kDevice}) {
      PolicyConfig cfg;
      cfg.kind = kind;
      cfg.gamma = c.gamma;
      cfg.capacity_scope = scope;
      cfg.m = static_cast<int>(c.seed % 4);
      cfg.priority = static_cast<DropPriority>(c.seed % 3);
      cfg.seed = c.seed;
      cfg.reroute_scope = c.seed % 2 ? RerouteScope::kAny : RerouteScope::kLocal;
      cfg.renormalize = c.seed % 5 == 0;
      out.push_back(cfg);
    }
  }
  return out;
}

constexpr int kCases = 300;

TEST(PolicyProperties, CapacityIsNeverExceeded) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    for (const auto& cfg : all_configs(c)) {
      if (cfg.kind == PolicyKind::kNone) continue;
      const PolicyOutcome o = apply_policy(c.router, cfg, p);
      // (capacity index, expert), the expert being -1 under device scope
      std::map<std::pair<int, int>, std::int64_t> load;
      for (const auto& pair : o.kept) {
        switch (cfg.capacity_scope) {
          case CapacityScope::kGlobal:
            ++load[{0, pair.expert}];
            break;
          case CapacityScope::kSource:
            ++load[{routing::source_of_token(pair.token, c.devices, c.tokens), pair.expert}];
            break;
          case CapacityScope::kDevice:
            ++load[{p.device(pair.expert), -1}];
            break;
        }
      }
      for (const auto& [key, n] : load) {
        ASSERT_LE(n, o.capacity[static_cast<std::size_t>(key.first)])
            << "case " << i << " " << policy_label(cfg) << " group " << key.first << "/"
            << key.second;
      }
    }
  }
}

TEST(PolicyProperties, DropKeepsASubsetOfTheTopkAndFillsEveryOverloadedExpert) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    PolicyConfig cfg;
    cfg.kind = PolicyKind::kDrop;
    cfg.gamma = c.gamma;
    cfg.priority = static_cast<DropPriority>(i % 3);
    const PolicyOutcome o = apply_policy(c.router, cfg, p);
    const auto all = pair_set(apply_policy(c.router, PolicyConfig{}, p));
    for (const auto& pair : o.kept) {
      ASSERT_TRUE(all.contains({pair.token, pair.expert})) << "case " << i;
      ASSERT_TRUE(pair.in_topk);
    }
    const auto m = compute_load_metrics(c.router, o, p);
    for (int e = 0; e < c.experts; ++e) {
      const auto ue = static_cast<std::size_t>(e);
      ASSERT_EQ(m.kept_load[ue], std::min(m.routed_load[ue], o.capacity[0])) << "case " << i;
    }
  }
}

TEST(PolicyProperties, DeviceScopeDropKeepsASubsetOfTheTopkAndFillsEveryFullDevice) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    PolicyConfig cfg;
    cfg.kind = PolicyKind::kDrop;
    cfg.gamma = c.gamma;
    cfg.priority = static_cast<DropPriority>(i % 3);
    cfg.seed = static_cast<std::uint64_t>(i);
    cfg.capacity_scope = CapacityScope::kDevice;
    const PolicyOutcome o = apply_policy(c.router, cfg, p);
    ASSERT_EQ(o.capacity.size(), static_cast<std::size_t>(c.devices));
    const auto all = pair_set(apply_policy(c.router, PolicyConfig{}, p));
    for (const auto& pair : o.kept) {
      ASSERT_TRUE(all.contains({pair.token, pair.expert})) << "case " << i;
      ASSERT_TRUE(pair.in_topk);
    }
    const auto m = compute_load_metrics(c.router, o, p);
    for (int d = 0; d < c.devices; ++d) {
      const auto ud = static_cast<std::size_t>(d);
      ASSERT_EQ(m.kept_device_load[ud], std::min(m.routed_device_load[ud], o.capacity[ud]))
          << "case " << i << " device " << d;
    }
  }
}

TEST(PolicyProperties, ExpandedWithMZeroEqualsDropByScore) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    PolicyConfig drop;
    drop.kind = PolicyKind::kDrop;
    drop.gamma = c.gamma;
    PolicyConfig expanded = drop;
    expanded.kind = PolicyKind::kExpanded;
    ASSERT_EQ(pair_set(apply_policy(c.router, drop, p)),
              pair_set(apply_policy(c.router, expanded, p)))
        << "case " << i;
  }
}

TEST(PolicyProperties, ExpandedOnOneDeviceWithAllExpertsIsExpertChoice) {
  for (int i = 0; i < 100; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    PolicyConfig cfg;
    cfg.kind = PolicyKind::kExpanded;
    cfg.gamma = c.gamma;
    cfg.m = c.experts - c.top_k;
    const PolicyOutcome o = apply_policy(c.router, cfg, balanced_placement(c.experts, 1));
    // Expert choice: every expert takes its C most probable tokens over all tokens.
    const std::int64_t C = o.capacity[0];
    std::set<std::pair<std::int64_t, int>> expected;
    for (int e = 0; e < c.experts; ++e) {
      std::vector<std::int64_t> tokens(static_cast<std::size_t>(c.tokens));
      for (std::int64_t t = 0; t < c.tokens; ++t)
        tokens[static_cast<std::size_t>(t)] = t;
      std::stable_sort(tokens.begin(), tokens.end(), [&](std::int64_t a, std::int64_t b) {
        return c.router.prob(a, e) > c.router.prob(b, e);
      });
      for (std::int64_t n = 0; n < std::min<std::int64_t>(C, c.tokens); ++n) {
        expected.insert({tokens[static_cast<std::size_t>(n)], e});
      }
    }
    ASSERT_EQ(pair_set(o), expected) << "case " << i;
  }
}

TEST(PolicyProperties, RerouteKeepsEveryDropPairAndNeverDuplicatesAnExpert) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    PolicyConfig drop;
    drop.kind = PolicyKind::kDrop;
    drop.gamma = c.gamma;
    PolicyConfig reroute = drop;
    reroute.kind = PolicyKind::kReroute;
    reroute.reroute_scope = i % 2 ? RerouteScope::kAny : RerouteScope::kLocal;
    const auto dropped = pair_set(apply_policy(c.router, drop, p));
    const PolicyOutcome o = apply_policy(c.router, reroute, p);
    const auto rerouted = pair_set(o);
    ASSERT_EQ(rerouted.size(), o.kept.size()) << "a token got the same expert twice";
    for (const auto& pair : dropped)
      ASSERT_TRUE(rerouted.contains(pair)) << "case " << i;
    // A token gains at most as many experts as it lost.
    const auto m = compute_load_metrics(c.router, o, p);
    ASSERT_LE(static_cast<double>(m.added_pairs), m.drop_rate * c.tokens * c.top_k + 1e-9);
  }
}

TEST(PolicyProperties, DeterministicSortedAndFinite) {
  for (int i = 0; i < kCases; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    const Placement p = balanced_placement(c.experts, c.devices);
    for (const auto& cfg : all_configs(c)) {
      const PolicyOutcome a = apply_policy(c.router, cfg, p);
      const PolicyOutcome b = apply_policy(c.router, cfg, p);
      ASSERT_EQ(a.kept.size(), b.kept.size());
      for (std::size_t n = 0; n < a.kept.size(); ++n) {
        ASSERT_EQ(a.kept[n].token, b.kept[n].token);
        ASSERT_EQ(a.kept[n].expert, b.kept[n].expert);
        ASSERT_EQ(a.kept[n].weight, b.kept[n].weight);
        ASSERT_TRUE(std::isfinite(a.kept[n].weight));
        ASSERT_GE(a.kept[n].weight, 0.0f);
        if (n > 0) {
          ASSERT_TRUE(
              a.kept[n - 1].token < a.kept[n].token ||
              (a.kept[n - 1].token == a.kept[n].token && a.kept[n - 1].expert < a.kept[n].expert))
              << "not sorted by token, then expert";
        }
      }
      const auto m = compute_load_metrics(c.router, a, p);
      for (double v : {m.imbalance_routed, m.imbalance_kept, m.balancedness_kept, m.drop_rate,
                       m.tokens_fully_dropped, m.gate_mass_kept}) {
        ASSERT_TRUE(std::isfinite(v)) << policy_label(cfg);
      }
      ASSERT_GE(m.drop_rate, 0.0);
      ASSERT_LE(m.drop_rate, 1.0);
    }
  }
}

TEST(PolicyProperties, RenormalizedWeightsSumToOnePerToken) {
  for (int i = 0; i < 100; ++i) {
    const Case c = random_case(static_cast<std::uint64_t>(i));
    PolicyConfig cfg;
    cfg.kind = static_cast<PolicyKind>(i % 4);
    cfg.gamma = c.gamma;
    cfg.m = 1;
    cfg.renormalize = true;
    const PolicyOutcome o = apply_policy(c.router, cfg, balanced_placement(c.experts, c.devices));
    std::map<std::int64_t, double> sum;
    for (const auto& pair : o.kept)
      sum[pair.token] += pair.weight;
    for (const auto& [token, s] : sum)
      ASSERT_NEAR(s, 1.0, 1e-5) << "case " << i;
  }
}

}  // namespace
}  // namespace moescope
