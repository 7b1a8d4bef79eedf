// The capacity policies of shared/ALGORITHMS.md as a data-parallel pipeline of Thrust
// algorithms (sorts, scans, searches, for_each), written once and run with either execution
// policy: thrust::host, so that CI checks it against core's apply_policy on a machine without a
// GPU, or thrust::cuda::par on the GPU. The per-pair rules are core/routing_math.h's.
//
// Every group (an expert, a source device and an expert, or a destination device) keeps its
// `capacity` best candidates. "Best" is a strict total order, so sorting by (group, priority,
// token, expert) and keeping the first `capacity` of each group gives exactly the set core's
// nth_element picks.
#pragma once

#include <thrust/binary_search.h>
#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/gather.h>
#include <thrust/host_vector.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/transform.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/moe/policy.h"
#include "core/moe/routing_math.h"

namespace moescope::kernels::pipeline {

using Index = std::int64_t;

// Everything a policy needs, as flat arrays; `Vec` is thrust::host_vector or device_vector.
template <template <typename...> class Vec>
struct PolicyInput {
  Index tokens = 0;
  int experts = 0;
  int top_k = 0;
  int devices = 1;
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
  Vec<float> probs;            // [T, E]
  Vec<int> topk_experts;       // [T, k]
  Vec<float> topk_sum;         // [T]
  Vec<int> device_of_expert;   // [E]
  Vec<std::int64_t> capacity;  // one per competition group (see GroupIndex)
};

struct KeptPairs {
  std::vector<std::int64_t> token;
  std::vector<int> expert;
  std::vector<float> weight;
  std::vector<char> in_topk;
};

namespace detail {

MOESCOPE_HD inline std::uint32_t descending_bits(float p) {
  // Probabilities are >= 0, whose IEEE bits order like unsigned integers; invert for
  // descending order.
  std::uint32_t bits = 0;
  memcpy(&bits, &p, sizeof bits);
  return ~bits;
}

// The candidates of a token: its top-k slots, then (expanded) up to m local experts outside
// its top-k, best first. An unused slot has expert -1.
struct MakeCandidates {
  const float* probs;
  const int* topk;
  const int* device_of_expert;
  Index tokens;
  int experts, top_k, devices, extra;
  int* cand_expert;
  int* cand_slot;

  MOESCOPE_HD void operator()(Index t) const {
    const int width = top_k + extra;
    int* ce = cand_expert + t * width;
    int* cs = cand_slot + t * width;
    for (int j = 0; j < top_k; ++j) {
      ce[j] = topk[t * top_k + j];
      cs[j] = j;
    }
    int held = 0;
    if (extra > 0) {
      const int src = routing::source_of_token(t, devices, tokens);
      const float* p = probs + t * experts;
      for (int e = 0; e < experts; ++e) {
        if (device_of_expert[e] != src) continue;
        bool in_topk = false;
        for (int j = 0; j < top_k; ++j)
          in_topk = in_topk || ce[j] == e;
        if (in_topk) continue;
        if (held == extra &&
            !routing::expert_outranks(p[e], e, p[ce[top_k + extra - 1]], ce[top_k + extra - 1])) {
          continue;
        }
        int slot = held < extra ? top_k + held++ : top_k + extra - 1;
        while (slot > top_k && routing::expert_outranks(p[e], e, p[ce[slot - 1]], ce[slot - 1])) {
          ce[slot] = ce[slot - 1];
          --slot;
        }
        ce[slot] = e;
      }
    }
    for (int i = top_k; i < width; ++i) {
      if (i >= top_k + held) ce[i] = -1;
      cs[i] = -1;
    }
  }
};

// The competition group of pair (t, e): the expert (global scope), source * E + expert (source
// scope) or the expert's device (device scope).
struct GroupIndex {
  const int* device_of_expert;
  int experts, devices;
  Index tokens;
  CapacityScope scope;

  MOESCOPE_HD Index operator()(Index t, int e) const {
    if (scope == CapacityScope::kDevice) return device_of_expert[e];
    if (scope == CapacityScope::kGlobal) return e;
    return static_cast<Index>(routing::source_of_token(t, devices, tokens)) * experts + e;
  }
  MOESCOPE_HD Index groups() const {
    if (scope == CapacityScope::kDevice) return devices;
    return static_cast<Index>(scope == CapacityScope::kSource ? devices : 1) * experts;
  }
};

// The competition group of a candidate; invalid candidates go to `groups` (after all others).
struct GroupOf {
  const int* cand_expert;
  int width;
  GroupIndex index;
  Index groups;

  MOESCOPE_HD Index operator()(Index i) const {
    const int e = cand_expert[i];
    return e < 0 ? groups : index(i / width, e);
  }
};

// Token-major, then expert order: under device scope a token's candidates can share a group,
// and ties between them go to the lower expert.
struct TokenExpertKey {
  const int* cand_expert;
  int width, experts;
  MOESCOPE_HD std::uint64_t operator()(Index i) const {
    const int e = cand_expert[i];
    return static_cast<std::uint64_t>(i / width) * static_cast<std::uint64_t>(experts + 1) +
           static_cast<std::uint64_t>(e < 0 ? experts : e);
  }
};

struct ScoreKey {
  const Index* group;
  const int* cand_expert;
  const float* probs;
  int width, experts;
  MOESCOPE_HD std::uint64_t operator()(Index i) const {
    const int e = cand_expert[i];
    const float p = e < 0 ? 0.0f : probs[(i / width) * experts + e];
    return (static_cast<std::uint64_t>(group[i]) << 32) | descending_bits(p);
  }
};

struct RandomKey {
  const int* cand_expert;
  int width;
  std::uint64_t seed;
  MOESCOPE_HD std::uint64_t operator()(Index i) const {
    const int e = cand_expert[i];
    return e < 0 ? ~0ull : ~routing::random_priority(seed, i / width, e);
  }
};

// keep[order[r]] = 1 when the candidate at sorted rank r is among its group's first `capacity`.
struct KeepFirst {
  const Index* order;
  const Index* sorted_group;
  const Index* group_start;      // sorted rank of each group's first candidate
  const std::int64_t* capacity;  // per group
  Index groups;
  char* keep;
  MOESCOPE_HD void operator()(Index r) const {
    const Index g = sorted_group[r];
    if (g >= groups) return;
    keep[order[r]] = (r - group_start[g]) < capacity[g] ? 1 : 0;
  }
};

// Reroute's bookkeeping, per token (one thread per token, so no two write one word).
struct MarkKept {
  const int* cand_expert;
  const char* keep;
  int width, words;
  std::uint64_t* kept_bits;
  MOESCOPE_HD void operator()(Index t) const {
    for (int i = 0; i < width; ++i) {
      const Index c = t * width + i;
      const int e = cand_expert[c];
      if (e >= 0 && keep[c]) kept_bits[t * words + e / 64] |= 1ull << (e % 64);
    }
  }
};

// Reroute steps 2 and 3, in the order the contract fixes: one pass over the dropped pairs, a
// single task. It runs on the host even when the rest runs on the GPU: one GPU thread would
// take longer than copying its inputs back.
struct OfferDropped {
  const Index* dropped;  // candidate indices, best first
  Index dropped_count;
  const int* cand_expert;
  const float* probs;
  const int* device_of_expert;
  std::int64_t* spare;  // per group
  std::uint64_t* kept_bits;
  int width, experts, words;
  GroupIndex group;  // over host memory
  bool local_scope;
  Index* added_token;
  int* added_expert;
  Index* added_count;

  MOESCOPE_HD void operator()(int) const {
    std::int64_t total_spare = 0;
    for (Index g = 0; g < group.groups(); ++g)
      total_spare += spare[g] > 0 ? spare[g] : 0;
    Index added = 0;
    for (Index d = 0; d < dropped_count && total_spare > 0; ++d) {
      const Index c = dropped[d];
      const Index t = c / width;
      const int home = device_of_expert[cand_expert[c]];
      const float* p = probs + t * experts;
      int best = -1;
      for (int e = 0; e < experts; ++e) {
        if (kept_bits[t * words + e / 64] & (1ull << (e % 64))) continue;
        if (spare[group(t, e)] <= 0) continue;
        if (local_scope && device_of_expert[e] != home) continue;
        if (best < 0 || routing::expert_outranks(p[e], e, p[best], best)) best = e;
      }
      if (best < 0) continue;
      --spare[group(t, best)];
      --total_spare;
      kept_bits[t * words + best / 64] |= 1ull << (best % 64);
      added_token[added] = t;
      added_expert[added] = best;
      ++added;
    }
    *added_count = added;
  }
};

struct SpareOf {
  const Index* group_start;      // [groups + 1]
  const std::int64_t* capacity;  // per group
  MOESCOPE_HD std::int64_t operator()(Index g) const {
    const std::int64_t size = group_start[g + 1] - group_start[g];
    const std::int64_t cap = capacity[g];
    return cap > size ? cap - size : 0;
  }
};

struct IsDropped {
  const int* cand_expert;
  const char* keep;
  MOESCOPE_HD bool operator()(Index c) const { return cand_expert[c] >= 0 && !keep[c]; }
};

struct IsKept {
  const int* cand_expert;
  const char* keep;
  MOESCOPE_HD bool operator()(Index c) const { return cand_expert[c] >= 0 && keep[c]; }
};

struct DroppedKey {
  const int* cand_expert;
  const float* probs;
  int width, experts;
  MOESCOPE_HD std::uint32_t operator()(Index c) const {
    return descending_bits(probs[(c / width) * experts + cand_expert[c]]);
  }
};

// One kept pair: its (token, expert) sort key and its router weight.
struct KeptPairOf {
  const float* probs;
  const float* topk_sum;
  int experts;
  bool norm;
  float scale;
  MOESCOPE_HD std::uint64_t key(Index t, int e) const {
    return static_cast<std::uint64_t>(t) * static_cast<std::uint64_t>(experts) +
           static_cast<std::uint64_t>(e);
  }
  MOESCOPE_HD float weight(Index t, int e) const {
    return routing::router_weight(probs[t * experts + e], topk_sum[t], norm, scale);
  }
};

// Pair i of the output: kept candidate i, or for i >= kept, added (rerouted) pair i - kept.
struct AssemblePairs {
  KeptPairOf of;
  const Index* kept_candidates;
  Index kept;
  const int* cand_expert;
  const int* cand_slot;
  int width;
  const Index* added_token;
  const int* added_expert;
  std::uint64_t* key;
  Index* token;
  int* expert;
  float* weight;
  char* in_topk;
  MOESCOPE_HD void operator()(Index i) const {
    const bool from_candidates = i < kept;
    const Index t = from_candidates ? kept_candidates[i] / width : added_token[i - kept];
    const int e = from_candidates ? cand_expert[kept_candidates[i]] : added_expert[i - kept];
    key[i] = of.key(t, e);
    token[i] = t;
    expert[i] = e;
    weight[i] = of.weight(t, e);
    in_topk[i] = from_candidates && cand_slot[kept_candidates[i]] >= 0 ? 1 : 0;
  }
};

// A token's kept weights scaled to sum to the routed scaling factor (1 for most models), as its
// full top-k weights do under norm_topk_prob.
struct Renormalize {
  const Index* token_start;  // [T + 1] into the pairs sorted by token
  float* weight;
  float scale;
  MOESCOPE_HD void operator()(Index t) const {
    float sum = 0.0f;
    for (Index i = token_start[t]; i < token_start[t + 1]; ++i)
      sum += weight[i];
    if (sum > 0.0f) {
      for (Index i = token_start[t]; i < token_start[t + 1]; ++i)
        weight[i] = weight[i] / sum * scale;
    }
  }
};

template <typename T, template <typename...> class Vec>
T* raw(Vec<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}
template <typename T, template <typename...> class Vec>
const T* raw(const Vec<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

}  // namespace detail

// Runs `config` over `in` with `exec` (thrust::host, or thrust::cuda::par on a stream). Every
// step is synchronous (par, not par_nosync): the vectors are filled on Thrust's default stream,
// which a non-blocking `stream` does not wait for, so each step must end before the next.
template <typename Exec, template <typename...> class Vec>
KeptPairs run_policy(Exec exec, const PolicyInput<Vec>& in, const PolicyConfig& config) {
  using namespace detail;
  using thrust::counting_iterator;
  const Index T = in.tokens;
  const int E = in.experts;
  const int extra = config.kind == PolicyKind::kExpanded ? (config.m < E ? config.m : E) : 0;
  const int width = in.top_k + extra;
  const Index n = T * width;
  const GroupIndex group_index{raw(in.device_of_expert), E, in.devices, T, config.capacity_scope};
  const Index groups = group_index.groups();
  const counting_iterator<Index> first(0);

  Vec<int> cand_expert(n);
  Vec<int> cand_slot(n);
  thrust::for_each(
      exec, first, first + T,
      MakeCandidates{raw(in.probs), raw(in.topk_experts), raw(in.device_of_expert), T, E, in.top_k,
                     in.devices, extra, raw(cand_expert), raw(cand_slot)});

  // Which candidates are kept: all (none), or each group's best `capacity`.
  Vec<char> keep(n, 0);
  Vec<Index> group_start(groups + 1, 0);
  if (config.kind == PolicyKind::kNone) {
    thrust::fill(exec, keep.begin(), keep.end(), 1);
  } else {
    Vec<Index> group(n);
    thrust::transform(exec, first, first + n, group.begin(),
                      GroupOf{raw(cand_expert), width, group_index, groups});
    Vec<Index> order(n);
    thrust::sequence(exec, order.begin(), order.end());
    if (config.capacity_scope == CapacityScope::kDevice) {
      Vec<std::uint64_t> key(n);
      thrust::transform(exec, first, first + n, key.begin(),
                        TokenExpertKey{raw(cand_expert), width, E});
      thrust::stable_sort_by_key(exec, key.begin(), key.end(), order.begin());
    }
    const bool random =
        config.kind == PolicyKind::kDrop && config.priority == DropPriority::kRandom;
    const bool position =
        config.kind == PolicyKind::kDrop && config.priority == DropPriority::kPosition;
    Vec<Index> sorted_group(n);
    if (random || position) {
      // Stable sorts from (token, expert) order: by priority, then by group, leaves (group,
      // priority, token, expert).
      if (random) {
        Vec<std::uint64_t> key(n);
        thrust::transform(exec, order.begin(), order.end(), key.begin(),
                          RandomKey{raw(cand_expert), width, config.seed});
        thrust::stable_sort_by_key(exec, key.begin(), key.end(), order.begin());
      }
      thrust::gather(exec, order.begin(), order.end(), group.begin(), sorted_group.begin());
      thrust::stable_sort_by_key(exec, sorted_group.begin(), sorted_group.end(), order.begin());
    } else {
      Vec<std::uint64_t> key(n);
      thrust::transform(exec, order.begin(), order.end(), key.begin(),
                        ScoreKey{raw(group), raw(cand_expert), raw(in.probs), width, E});
      thrust::stable_sort_by_key(exec, key.begin(), key.end(), order.begin());
      thrust::gather(exec, order.begin(), order.end(), group.begin(), sorted_group.begin());
    }
    thrust::lower_bound(exec, sorted_group.begin(), sorted_group.end(), first, first + groups + 1,
                        group_start.begin());
    thrust::for_each(exec, first, first + n,
                     KeepFirst{raw(order), raw(sorted_group), raw(group_start), raw(in.capacity),
                               groups, raw(keep)});
  }

  // Reroute: offer each dropped pair the best expert with spare capacity.
  Vec<Index> added_token;
  Vec<int> added_expert;
  Index added = 0;
  if (config.kind == PolicyKind::kReroute) {
    const int words = (E + 63) / 64;
    Vec<std::uint64_t> kept_bits(static_cast<std::size_t>(T) * words, 0);
    thrust::for_each(exec, first, first + T,
                     MarkKept{raw(cand_expert), raw(keep), width, words, raw(kept_bits)});
    Vec<std::int64_t> spare(groups);
    thrust::transform(exec, first, first + groups, spare.begin(),
                      SpareOf{raw(group_start), raw(in.capacity)});
    Vec<Index> dropped(n);
    const auto dropped_end = thrust::copy_if(exec, first, first + n, dropped.begin(),
                                             IsDropped{raw(cand_expert), raw(keep)});
    const Index dropped_count = static_cast<Index>(dropped_end - dropped.begin());
    // Probability descending; token then slot ascending come from the stable sort of
    // token-major candidates.
    Vec<std::uint32_t> key(dropped_count);
    thrust::transform(exec, dropped.begin(), dropped.begin() + dropped_count, key.begin(),
                      DroppedKey{raw(cand_expert), raw(in.probs), width, E});
    thrust::stable_sort_by_key(exec, key.begin(), key.end(), dropped.begin());
    // The offers, on the host (see OfferDropped).
    thrust::host_vector<Index> h_dropped(dropped.begin(), dropped.begin() + dropped_count);
    thrust::host_vector<int> h_cand_expert(cand_expert);
    thrust::host_vector<float> h_probs(in.probs);
    thrust::host_vector<int> h_device_of_expert(in.device_of_expert);
    thrust::host_vector<std::int64_t> h_spare(spare);
    thrust::host_vector<std::uint64_t> h_kept_bits(kept_bits);
    thrust::host_vector<Index> h_added_token(dropped_count > 0 ? dropped_count : 1);
    thrust::host_vector<int> h_added_expert(dropped_count > 0 ? dropped_count : 1);
    Index count = 0;
    GroupIndex host_group_index = group_index;
    host_group_index.device_of_expert = raw(h_device_of_expert);
    OfferDropped{raw(h_dropped),
                 dropped_count,
                 raw(h_cand_expert),
                 raw(h_probs),
                 raw(h_device_of_expert),
                 raw(h_spare),
                 raw(h_kept_bits),
                 width,
                 E,
                 words,
                 host_group_index,
                 config.reroute_scope == RerouteScope::kLocal,
                 raw(h_added_token),
                 raw(h_added_expert),
                 &count}(0);
    added = count;
    added_token =
        Vec<Index>(h_added_token.begin(), h_added_token.begin() + (added > 0 ? added : 1));
    added_expert =
        Vec<int>(h_added_expert.begin(), h_added_expert.begin() + (added > 0 ? added : 1));
  }

  // The kept pairs in (token, expert) order, with the router's weights.
  Vec<Index> kept_candidates(n);
  const auto kept_end = thrust::copy_if(exec, first, first + n, kept_candidates.begin(),
                                        IsKept{raw(cand_expert), raw(keep)});
  const Index kept = static_cast<Index>(kept_end - kept_candidates.begin());
  const Index total = kept + added;
  Vec<std::uint64_t> pair_key(total);
  Vec<Index> pair_token(total);
  Vec<int> pair_expert(total);
  Vec<float> pair_weight(total);
  Vec<char> pair_in_topk(total);
  thrust::for_each(
      exec, first, first + total,
      AssemblePairs{KeptPairOf{raw(in.probs), raw(in.topk_sum), E, in.norm_topk_prob,
                               in.routed_scaling_factor},
                    raw(kept_candidates), kept, raw(cand_expert), raw(cand_slot), width,
                    raw(added_token), raw(added_expert), raw(pair_key), raw(pair_token),
                    raw(pair_expert), raw(pair_weight), raw(pair_in_topk)});
  Vec<Index> pair_order(total);
  thrust::sequence(exec, pair_order.begin(), pair_order.end());
  thrust::sort_by_key(exec, pair_key.begin(), pair_key.end(), pair_order.begin());
  Vec<Index> sorted_token(total);
  Vec<float> sorted_weight(total);
  Vec<int> sorted_expert(total);
  Vec<char> sorted_in_topk(total);
  thrust::gather(exec, pair_order.begin(), pair_order.end(), pair_token.begin(),
                 sorted_token.begin());
  thrust::gather(exec, pair_order.begin(), pair_order.end(), pair_expert.begin(),
                 sorted_expert.begin());
  thrust::gather(exec, pair_order.begin(), pair_order.end(), pair_weight.begin(),
                 sorted_weight.begin());
  thrust::gather(exec, pair_order.begin(), pair_order.end(), pair_in_topk.begin(),
                 sorted_in_topk.begin());
  if (config.renormalize) {
    Vec<Index> token_start(T + 1);
    thrust::lower_bound(exec, sorted_token.begin(), sorted_token.end(), first, first + T + 1,
                        token_start.begin());
    thrust::for_each(exec, first, first + T,
                     Renormalize{raw(token_start), raw(sorted_weight), in.routed_scaling_factor});
  }

  KeptPairs out;
  out.token.resize(static_cast<std::size_t>(total));
  out.expert.resize(static_cast<std::size_t>(total));
  out.weight.resize(static_cast<std::size_t>(total));
  out.in_topk.resize(static_cast<std::size_t>(total));
  thrust::copy(sorted_token.begin(), sorted_token.end(), out.token.begin());
  thrust::copy(sorted_expert.begin(), sorted_expert.end(), out.expert.begin());
  thrust::copy(sorted_weight.begin(), sorted_weight.end(), out.weight.begin());
  thrust::copy(sorted_in_topk.begin(), sorted_in_topk.end(), out.in_topk.begin());
  return out;
}

}  // namespace moescope::kernels::pipeline
