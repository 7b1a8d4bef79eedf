#include "core/moe/load_metrics.h"

#include <algorithm>
#include <numeric>

namespace moescope {

double imbalance(const std::vector<std::int64_t>& load) {
  if (load.empty()) return 0.0;
  const double sum =
      static_cast<double>(std::accumulate(load.begin(), load.end(), std::int64_t{0}));
  if (sum == 0.0) return 0.0;
  const double mean = sum / static_cast<double>(load.size());
  return static_cast<double>(*std::max_element(load.begin(), load.end())) / mean;
}

double balancedness(const std::vector<std::int64_t>& load) {
  if (load.empty()) return 1.0;
  const auto max = *std::max_element(load.begin(), load.end());
  if (max == 0) return 1.0;
  const double sum =
      static_cast<double>(std::accumulate(load.begin(), load.end(), std::int64_t{0}));
  return sum / static_cast<double>(load.size()) / static_cast<double>(max);
}

namespace {

std::vector<std::int64_t> device_load(const std::vector<std::int64_t>& expert_load,
                                      const Placement& placement) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(placement.devices), 0);
  for (int e = 0; e < placement.experts(); ++e) {
    out[static_cast<std::size_t>(placement.device(e))] += expert_load[static_cast<std::size_t>(e)];
  }
  return out;
}

}  // namespace

LoadMetrics compute_load_metrics(const RouterOutput& router, const PolicyOutcome& outcome,
                                 const Placement& placement) {
  const auto E = static_cast<std::size_t>(router.experts);
  LoadMetrics m;
  m.routed_load.assign(E, 0);
  m.kept_load.assign(E, 0);
  m.dropped_load.assign(E, 0);
  m.added_load.assign(E, 0);
  double topk_mass = 0.0;
  for (std::int64_t t = 0; t < router.tokens; ++t) {
    for (int j = 0; j < router.top_k; ++j) {
      const int e = router.topk_expert(t, j);
      ++m.routed_load[static_cast<std::size_t>(e)];
      topk_mass += router.weight(t, e);
    }
  }
  double kept_mass = 0.0;
  std::int64_t kept_topk_pairs = 0;
  std::int64_t tokens_with_pairs = 0;
  std::int64_t last_token = -1;
  // Kept pairs are sorted by token: count each token's and add what it falls short of k.
  std::int64_t lost = 0;
  std::int64_t token_pairs = 0;
  auto close_token = [&] {
    if (last_token >= 0) lost += std::max<std::int64_t>(0, router.top_k - token_pairs);
  };
  for (const auto& pair : outcome.kept) {
    const auto e = static_cast<std::size_t>(pair.expert);
    ++m.kept_load[e];
    if (pair.in_topk) {
      ++kept_topk_pairs;
    } else {
      ++m.added_load[e];
      ++m.added_pairs;
    }
    kept_mass += router.weight(pair.token, pair.expert);
    if (pair.token != last_token) {
      close_token();
      ++tokens_with_pairs, last_token = pair.token, token_pairs = 0;
    }
    ++token_pairs;
  }
  close_token();
  // Tokens without a single kept pair lost all k.
  lost += (router.tokens - tokens_with_pairs) * router.top_k;
  for (std::size_t e = 0; e < E; ++e) {
    m.dropped_load[e] = m.routed_load[e] - (m.kept_load[e] - m.added_load[e]);
  }
  m.routed_device_load = device_load(m.routed_load, placement);
  m.kept_device_load = device_load(m.kept_load, placement);
  m.imbalance_routed = imbalance(m.routed_load);
  m.imbalance_kept = imbalance(m.kept_load);
  m.balancedness_routed = balancedness(m.routed_device_load);
  m.balancedness_kept = balancedness(m.kept_device_load);
  const double topk_pairs = static_cast<double>(router.tokens) * router.top_k;
  m.drop_rate = (topk_pairs - static_cast<double>(kept_topk_pairs)) / topk_pairs;
  m.lost_pairs = static_cast<double>(lost) / topk_pairs;
  m.tokens_fully_dropped =
      static_cast<double>(router.tokens - tokens_with_pairs) / static_cast<double>(router.tokens);
  m.gate_mass_kept = topk_mass > 0.0 ? kept_mass / topk_mass : 0.0;
  return m;
}

}  // namespace moescope
