#include "core/moe/policy.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/base/error.h"
#include "core/moe/routing_math.h"

namespace moescope {

std::vector<std::int64_t> scope_capacities(std::int64_t tokens, int top_k, int experts, int devices,
                                           double gamma, CapacityScope scope) {
  switch (scope) {
    case CapacityScope::kGlobal:
      return {routing::capacity(gamma, tokens, top_k, experts)};
    case CapacityScope::kDevice:
      return std::vector<std::int64_t>(static_cast<std::size_t>(devices),
                                       routing::capacity(gamma, tokens, top_k, devices));
    case CapacityScope::kSource:
      break;
  }
  std::vector<std::int64_t> tokens_of(static_cast<std::size_t>(devices), 0);
  for (std::int64_t t = 0; t < tokens; ++t)
    ++tokens_of[static_cast<std::size_t>(routing::source_of_token(t, devices, tokens))];
  std::vector<std::int64_t> out;
  for (std::int64_t n : tokens_of)
    out.push_back(routing::capacity(gamma, n, top_k, experts));
  return out;
}

namespace {

// One (token, expert) pair that competes for an expert's capacity.
struct Candidate {
  std::int64_t token;
  int expert;
  float prob;
  int slot;  // top-k slot, or -1 for an expanded (non top-k) candidate
};

// Capacity per competition group: the expert (global scope), the (source device, expert)
// (source scope) or the destination device (device scope).
class CapacityTable {
 public:
  CapacityTable(const RouterOutput& router, const PolicyConfig& config, const Placement& placement)
      : scope_(config.capacity_scope),
        experts_(router.experts),
        tokens_(router.tokens),
        placement_(placement) {
    per_scope_ =
        scope_capacities(tokens_, router.top_k, experts_, placement.devices, config.gamma, scope_);
  }

  std::size_t groups() const {
    return scope_ == CapacityScope::kDevice
               ? per_scope_.size()
               : per_scope_.size() * static_cast<std::size_t>(experts_);
  }
  std::size_t group(std::int64_t token, int expert) const {
    switch (scope_) {
      case CapacityScope::kGlobal:
        return static_cast<std::size_t>(expert);
      case CapacityScope::kDevice:
        return static_cast<std::size_t>(placement_.device(expert));
      case CapacityScope::kSource:
        break;
    }
    const auto source =
        static_cast<std::size_t>(routing::source_of_token(token, placement_.devices, tokens_));
    return source * static_cast<std::size_t>(experts_) + static_cast<std::size_t>(expert);
  }
  std::int64_t capacity_of_group(std::size_t g) const {
    return scope_ == CapacityScope::kDevice ? per_scope_[g]
                                            : per_scope_[g / static_cast<std::size_t>(experts_)];
  }
  const std::vector<std::int64_t>& per_scope() const { return per_scope_; }

 private:
  CapacityScope scope_;
  int experts_;
  std::int64_t tokens_;
  const Placement& placement_;
  std::vector<std::int64_t> per_scope_;
};

// Keeps, in every group, the `capacity` candidates that `outranks` puts first. Groups within
// capacity keep everything. Returns a flag per candidate.
template <typename Outranks>
std::vector<char> keep_within_capacity(const std::vector<Candidate>& candidates,
                                       const CapacityTable& table, Outranks outranks) {
  // Bucket the candidates by group (counting sort keeps their order stable).
  std::vector<std::size_t> start(table.groups() + 1, 0);
  for (const auto& c : candidates)
    ++start[table.group(c.token, c.expert) + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::size_t> order(candidates.size());
  std::vector<std::size_t> fill(start.begin(), start.end() - 1);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    order[fill[table.group(candidates[i].token, candidates[i].expert)]++] = i;
  }
  std::vector<char> keep(candidates.size(), 1);
  for (std::size_t g = 0; g < table.groups(); ++g) {
    const auto first = order.begin() + static_cast<std::ptrdiff_t>(start[g]);
    const auto last = order.begin() + static_cast<std::ptrdiff_t>(start[g + 1]);
    const auto size = static_cast<std::int64_t>(last - first);
    const std::int64_t capacity = table.capacity_of_group(g);
    if (size <= capacity) continue;
    // The order is a strict total order (ties go to the lower token, then the lower expert), so
    // the kept set does not depend on how nth_element breaks up the work.
    const auto boundary = first + static_cast<std::ptrdiff_t>(capacity);
    std::nth_element(first, boundary, last, [&](std::size_t a, std::size_t b) {
      return outranks(candidates[a], candidates[b]);
    });
    for (auto it = boundary; it != last; ++it)
      keep[*it] = 0;
  }
  return keep;
}

bool by_score(const Candidate& a, const Candidate& b) {
  return routing::pair_outranks(a.prob, a.token, a.expert, b.prob, b.token, b.expert);
}

std::vector<Candidate> topk_candidates(const RouterOutput& router) {
  std::vector<Candidate> out;
  out.reserve(static_cast<std::size_t>(router.tokens) * static_cast<std::size_t>(router.top_k));
  for (std::int64_t t = 0; t < router.tokens; ++t) {
    for (int j = 0; j < router.top_k; ++j) {
      const int e = router.topk_expert(t, j);
      out.push_back({t, e, router.prob(t, e), j});
    }
  }
  return out;
}

std::vector<char> drop_keep(const std::vector<Candidate>& candidates, const CapacityTable& table,
                            const PolicyConfig& config) {
  switch (config.priority) {
    case DropPriority::kScore:
      return keep_within_capacity(candidates, table, by_score);
    case DropPriority::kPosition:
      return keep_within_capacity(candidates, table, [](const Candidate& a, const Candidate& b) {
        return a.token < b.token || (a.token == b.token && a.expert < b.expert);
      });
    case DropPriority::kRandom:
      return keep_within_capacity(candidates, table, [&](const Candidate& a, const Candidate& b) {
        const auto ra = routing::random_priority(config.seed, a.token, a.expert);
        const auto rb = routing::random_priority(config.seed, b.token, b.expert);
        return ra > rb ||
               (ra == rb && (a.token < b.token || (a.token == b.token && a.expert < b.expert)));
      });
  }
  return {};
}

// The top-k pairs plus, per token, the m most probable local experts outside its top-k.
std::vector<Candidate> expanded_candidates(const RouterOutput& router, const Placement& placement,
                                           int m) {
  std::vector<Candidate> out = topk_candidates(router);
  if (m == 0) return out;
  std::vector<std::vector<int>> local(static_cast<std::size_t>(placement.devices));
  for (int d = 0; d < placement.devices; ++d)
    local[static_cast<std::size_t>(d)] = placement.experts_on(d);
  std::vector<int> extras;
  for (std::int64_t t = 0; t < router.tokens; ++t) {
    const int src = routing::source_of_token(t, placement.devices, router.tokens);
    extras.clear();
    for (int e : local[static_cast<std::size_t>(src)]) {
      bool in_topk = false;
      for (int j = 0; j < router.top_k; ++j)
        in_topk = in_topk || router.topk_expert(t, j) == e;
      if (!in_topk) extras.push_back(e);
    }
    const auto take = std::min<std::size_t>(extras.size(), static_cast<std::size_t>(m));
    std::partial_sort(extras.begin(), extras.begin() + static_cast<std::ptrdiff_t>(take),
                      extras.end(), [&](int a, int b) {
                        return routing::expert_outranks(router.prob(t, a), a, router.prob(t, b), b);
                      });
    for (std::size_t i = 0; i < take; ++i)
      out.push_back({t, extras[i], router.prob(t, extras[i]), -1});
  }
  return out;
}

// Reroute step 2 and 3: offers every dropped pair the best expert with spare capacity.
std::vector<Candidate> reroute_dropped(const RouterOutput& router, const PolicyConfig& config,
                                       const Placement& placement, const CapacityTable& table,
                                       const std::vector<Candidate>& candidates,
                                       const std::vector<char>& keep) {
  const auto E = static_cast<std::size_t>(router.experts);
  std::vector<std::int64_t> spare(table.groups());
  for (std::size_t g = 0; g < table.groups(); ++g)
    spare[g] = table.capacity_of_group(g);
  std::vector<char> is_kept(static_cast<std::size_t>(router.tokens) * E, 0);
  std::vector<Candidate> dropped;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (keep[i]) {
      --spare[table.group(c.token, c.expert)];
      is_kept[static_cast<std::size_t>(c.token) * E + static_cast<std::size_t>(c.expert)] = 1;
    } else {
      dropped.push_back(c);
    }
  }
  std::sort(dropped.begin(), dropped.end(), [](const Candidate& a, const Candidate& b) {
    if (a.prob != b.prob) return a.prob > b.prob;
    if (a.token != b.token) return a.token < b.token;
    return a.slot < b.slot;
  });
  std::int64_t total_spare = 0;
  for (auto s : spare)
    total_spare += std::max<std::int64_t>(s, 0);
  std::vector<Candidate> added;
  for (const auto& c : dropped) {
    if (total_spare == 0) break;  // no expert can take another pair
    const int home = placement.device(c.expert);
    int best = -1;
    for (int e = 0; e < router.experts; ++e) {
      if (is_kept[static_cast<std::size_t>(c.token) * E + static_cast<std::size_t>(e)]) continue;
      if (spare[table.group(c.token, e)] <= 0) continue;
      if (config.reroute_scope == RerouteScope::kLocal && placement.device(e) != home) continue;
      if (best < 0 ||
          routing::expert_outranks(router.prob(c.token, e), e, router.prob(c.token, best), best)) {
        best = e;
      }
    }
    if (best < 0) continue;
    --spare[table.group(c.token, best)];
    --total_spare;
    is_kept[static_cast<std::size_t>(c.token) * E + static_cast<std::size_t>(best)] = 1;
    added.push_back({c.token, best, router.prob(c.token, best), -1});
  }
  return added;
}

}  // namespace

void check_policy_input(const RouterOutput& router, const PolicyConfig& config,
                        const Placement& placement) {
  validate(config);
  if (placement.experts() != router.experts) {
    throw Error("placement covers " + std::to_string(placement.experts()) +
                " experts but the router has " + std::to_string(router.experts));
  }
}

PolicyOutcome apply_policy(const RouterOutput& router, const PolicyConfig& config,
                           const Placement& placement) {
  check_policy_input(router, config, placement);
  // `none` ignores gamma, but reports the capacity that gamma implies when it is valid.
  const bool gamma_valid = std::isfinite(config.gamma) && config.gamma > 0;
  PolicyConfig effective = config;
  if (!gamma_valid) effective.gamma = 1.0;
  const CapacityTable table(router, effective, placement);
  std::vector<Candidate> candidates;
  std::vector<char> keep;
  std::vector<Candidate> added;
  switch (config.kind) {
    case PolicyKind::kNone:
      candidates = topk_candidates(router);
      keep.assign(candidates.size(), 1);
      break;
    case PolicyKind::kDrop:
      candidates = topk_candidates(router);
      keep = drop_keep(candidates, table, config);
      break;
    case PolicyKind::kExpanded:
      candidates = expanded_candidates(router, placement, config.m);
      keep = keep_within_capacity(candidates, table, by_score);
      break;
    case PolicyKind::kReroute:
      candidates = topk_candidates(router);
      keep = keep_within_capacity(candidates, table, by_score);
      added = reroute_dropped(router, config, placement, table, candidates, keep);
      break;
  }

  PolicyOutcome out;
  if (gamma_valid) out.capacity = table.per_scope();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (!keep[i]) continue;
    const auto& c = candidates[i];
    out.kept.push_back({c.token, c.expert, router.weight(c.token, c.expert), c.slot >= 0});
  }
  for (const auto& c : added) {
    out.kept.push_back({c.token, c.expert, router.weight(c.token, c.expert), false});
  }
  std::sort(out.kept.begin(), out.kept.end(), [](const KeptPair& a, const KeptPair& b) {
    return a.token != b.token ? a.token < b.token : a.expert < b.expert;
  });
  if (config.renormalize) {
    for (std::size_t i = 0; i < out.kept.size();) {
      std::size_t j = i;
      float sum = 0.0f;
      while (j < out.kept.size() && out.kept[j].token == out.kept[i].token)
        sum += out.kept[j++].weight;
      if (sum > 0.0f) {  // to the routed scaling factor, as the token's full top k sum to
        for (std::size_t n = i; n < j; ++n)
          out.kept[n].weight = out.kept[n].weight / sum * router.routed_scaling_factor;
      }
      i = j;
    }
  }
  return out;
}

}  // namespace moescope
