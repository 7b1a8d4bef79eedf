#include "core/moe/replica_plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/error.h"
#include "core/base/named_values.h"
#include "core/moe/routing_math.h"

namespace moescope {

namespace {

constexpr NamedValue<EplbAlgorithm> kAlgorithms[] = {{"auto", EplbAlgorithm::kAutomatic},
                                                     {"hierarchical", EplbAlgorithm::kHierarchical},
                                                     {"global", EplbAlgorithm::kGlobal}};
constexpr NamedValue<ReplicaChoice> kChoices[] = {{"round_robin", ReplicaChoice::kRoundRobin},
                                                  {"local_first", ReplicaChoice::kLocalFirst}};

// Where balanced packing put each item.
struct Packing {
  std::vector<int> pack;  // [n]
  std::vector<int> rank;  // [n] position within the pack, in the order items went in
};

// EPLB's balanced packing: n items into `packs` packs of exactly n / packs items each. Items go
// heaviest first (a stable sort: ties to the lower index), each into the lightest pack that
// still has room (ties to the lower pack). With `labels`, a pack that already holds an item of
// the same label is passed over while another pack with room does not (the spread rule).
Packing balanced_packing(const std::vector<double>& weight, int packs,
                         const std::vector<int>* labels) {
  const auto n = weight.size();
  const auto per_pack = static_cast<int>(n / static_cast<std::size_t>(packs));
  Packing out{std::vector<int>(n), std::vector<int>(n)};
  if (per_pack == 1) {  // as the original: item i in pack i, whatever the weights
    for (std::size_t i = 0; i < n; ++i)
      out.pack[i] = static_cast<int>(i);
    return out;
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return weight[a] > weight[b]; });
  std::vector<double> pack_weight(static_cast<std::size_t>(packs), 0.0);
  std::vector<int> pack_items(static_cast<std::size_t>(packs), 0);
  // holds[p * label_count + l]: pack p holds an item labelled l.
  const std::size_t label_count =
      labels == nullptr
          ? 0
          : static_cast<std::size_t>(*std::max_element(labels->begin(), labels->end())) + 1;
  std::vector<char> holds(static_cast<std::size_t>(packs) * label_count, 0);
  for (std::size_t item : order) {
    const auto shares_label = [&](int p) {
      return labels != nullptr && holds[static_cast<std::size_t>(p) * label_count +
                                        static_cast<std::size_t>((*labels)[item])];
    };
    int best = -1;
    bool best_shares = true;
    for (int p = 0; p < packs; ++p) {
      const auto up = static_cast<std::size_t>(p);
      if (pack_items[up] >= per_pack) continue;
      const bool shares = shares_label(p);
      // A pack without the label beats one with it; then the lighter pack, then the lower one.
      if (best < 0 || (best_shares && !shares) ||
          (shares == best_shares &&
           pack_weight[up] < pack_weight[static_cast<std::size_t>(best)])) {
        best = p;
        best_shares = shares;
      }
    }
    const auto ub = static_cast<std::size_t>(best);
    out.pack[item] = best;
    out.rank[item] = pack_items[ub]++;
    pack_weight[ub] += weight[item];
    if (labels != nullptr) holds[ub * label_count + static_cast<std::size_t>((*labels)[item])] = 1;
  }
  return out;
}

struct Replication {
  std::vector<int> slot_item;  // [slots] the item of each slot
  std::vector<int> slot_rank;  // [slots]
  std::vector<int> count;      // [items]
};

// EPLB's replication: every slot beyond the first `n` goes to the item with the highest
// weight / count (ties to the lower index).
Replication replicate(const std::vector<double>& weight, int slots) {
  const int n = static_cast<int>(weight.size());
  Replication out;
  out.count.assign(weight.size(), 1);
  for (int i = 0; i < n; ++i) {
    out.slot_item.push_back(i);
    out.slot_rank.push_back(0);
  }
  std::vector<double> per_replica(weight);  // weight / count, updated as counts grow
  for (int s = n; s < slots; ++s) {
    const auto best = static_cast<std::size_t>(
        std::max_element(per_replica.begin(), per_replica.end()) - per_replica.begin());
    out.slot_item.push_back(static_cast<int>(best));
    out.slot_rank.push_back(out.count[best]++);
    per_replica[best] = weight[best] / out.count[best];
  }
  return out;
}

bool hierarchical(int experts, const EplbOptions& o) {
  switch (o.algorithm) {
    case EplbAlgorithm::kHierarchical:
      return true;
    case EplbAlgorithm::kGlobal:
      return false;
    case EplbAlgorithm::kAutomatic:
      break;
  }
  return o.groups > 1 && o.groups % o.nodes == 0 && experts % o.groups == 0;
}

}  // namespace

std::string eplb_algorithm_name(EplbAlgorithm algorithm) {
  return name_of(algorithm, kAlgorithms);
}
EplbAlgorithm parse_eplb_algorithm(const std::string& name) {
  return parse_named(name, kAlgorithms, "placement algorithm");
}
std::string replica_choice_name(ReplicaChoice choice) {
  return name_of(choice, kChoices);
}
ReplicaChoice parse_replica_choice(const std::string& name) {
  return parse_named(name, kChoices, "replica choice");
}

EplbOptions eplb_options(const ReplicationOptions& r, int devices) {
  EplbOptions o;
  o.redundant_slots = r.replicas;
  o.devices = devices;
  o.nodes = r.nodes;
  o.groups = r.groups;
  o.algorithm = r.algorithm;
  o.spread = r.spread;
  return o;
}

EplbAlgorithm resolved_algorithm(int experts, const EplbOptions& options) {
  return hierarchical(experts, options) ? EplbAlgorithm::kHierarchical : EplbAlgorithm::kGlobal;
}

std::vector<int> ReplicaPlan::slots_of(int expert) const {
  std::vector<int> out(static_cast<std::size_t>(replica_count[static_cast<std::size_t>(expert)]));
  for (int s = 0; s < slot_count(); ++s) {
    const auto us = static_cast<std::size_t>(s);
    if (slot_expert[us] == expert) out[static_cast<std::size_t>(slot_rank[us])] = s;
  }
  return out;
}

void validate_eplb_options(int experts, const EplbOptions& o) {
  const auto n = [](auto v) { return std::to_string(v); };
  if (experts < 1) throw Error("a replica plan needs at least one expert, got " + n(experts));
  if (o.redundant_slots < 0) {
    throw Error("replicas must be >= 0, got " + n(o.redundant_slots));
  }
  if (o.devices < 1) throw Error("a replica plan needs at least one device, got " + n(o.devices));
  // More than E * (D - 1) replicas would put two copies of one expert on a device; checked in
  // 64 bits first, so that E + R below cannot overflow.
  const std::int64_t most = static_cast<std::int64_t>(experts) * (o.devices - 1);
  if (o.redundant_slots > most) {
    throw Error(n(o.redundant_slots) + " replicas for " + n(experts) + " experts on " +
                n(o.devices) +
                " devices: a device would hold two replicas of one expert; use at "
                "most " +
                n(most) + " replicas");
  }
  if (o.nodes < 1 || o.devices % o.nodes != 0) {
    throw Error(n(o.devices) + " devices do not split evenly over " + n(o.nodes) + " nodes");
  }
  const int slots = experts + o.redundant_slots;
  if (slots % o.devices != 0) {
    throw Error(n(experts) + " experts + " + n(o.redundant_slots) + " replicas = " + n(slots) +
                " slots do not split evenly over " + n(o.devices) +
                " devices: choose replicas so that (E + R) % D == 0");
  }
  if (o.groups < 1 || experts % o.groups != 0) {
    throw Error(n(experts) + " experts do not split evenly into " + n(o.groups) + " groups");
  }
  if (o.algorithm == EplbAlgorithm::kHierarchical && o.groups % o.nodes != 0) {
    throw Error("the hierarchical placement needs the expert groups (" + n(o.groups) +
                ") to split evenly over the nodes (" + n(o.nodes) + "); use the global one");
  }
}

ReplicaPlan plan_replicas(const std::vector<double>& expert_load, const EplbOptions& options) {
  const int E = static_cast<int>(expert_load.size());
  validate_eplb_options(E, options);
  for (std::size_t e = 0; e < expert_load.size(); ++e) {
    if (!std::isfinite(expert_load[e]) || expert_load[e] < 0) {
      throw Error("the load of expert " + std::to_string(e) +
                  " is not a finite number >= 0: " + std::to_string(expert_load[e]));
    }
  }
  const bool by_groups = hierarchical(E, options);
  const int groups = by_groups ? options.groups : 1;
  const int nodes = by_groups ? options.nodes : 1;
  const int P = E + options.redundant_slots;
  const int D = options.devices;
  const int group_size = E / groups;
  const int groups_per_node = groups / nodes;
  const int experts_per_node = E / nodes;
  const int slots_per_node = P / nodes;
  const int devices_per_node = D / nodes;
  const int slots_per_device = P / D;

  // Step 1: groups to nodes by balanced packing; experts renumbered node by node ("mlog").
  std::vector<double> group_load(static_cast<std::size_t>(groups), 0.0);
  for (int e = 0; e < E; ++e)
    group_load[static_cast<std::size_t>(e / group_size)] +=
        expert_load[static_cast<std::size_t>(e)];
  const Packing group_packing = balanced_packing(group_load, nodes, nullptr);
  std::vector<int> mlog_to_log(static_cast<std::size_t>(E));
  for (int e = 0; e < E; ++e) {
    const auto g = static_cast<std::size_t>(e / group_size);
    const int mlog =
        (group_packing.pack[g] * groups_per_node + group_packing.rank[g]) * group_size +
        e % group_size;
    mlog_to_log[static_cast<std::size_t>(mlog)] = e;
  }

  ReplicaPlan plan;
  plan.experts = E;
  plan.devices = D;
  plan.slot_expert.assign(static_cast<std::size_t>(P), -1);
  plan.slot_rank.assign(static_cast<std::size_t>(P), 0);
  plan.replica_count.assign(static_cast<std::size_t>(E), 0);
  for (int node = 0; node < nodes; ++node) {
    // Step 2: replicas within the node.
    std::vector<double> load(static_cast<std::size_t>(experts_per_node));
    for (int j = 0; j < experts_per_node; ++j) {
      load[static_cast<std::size_t>(j)] = expert_load[static_cast<std::size_t>(
          mlog_to_log[static_cast<std::size_t>(node * experts_per_node + j)])];
    }
    const Replication rep = replicate(load, slots_per_node);
    // Step 3: the node's slots to its devices by balanced packing of the per-replica load.
    std::vector<double> slot_load(static_cast<std::size_t>(slots_per_node));
    std::vector<int> slot_label(static_cast<std::size_t>(slots_per_node));
    for (int s = 0; s < slots_per_node; ++s) {
      const auto item = static_cast<std::size_t>(rep.slot_item[static_cast<std::size_t>(s)]);
      slot_load[static_cast<std::size_t>(s)] = load[item] / rep.count[item];
      slot_label[static_cast<std::size_t>(s)] = static_cast<int>(item);
    }
    const Packing device_packing =
        balanced_packing(slot_load, devices_per_node, options.spread ? &slot_label : nullptr);
    for (int s = 0; s < slots_per_node; ++s) {
      const auto us = static_cast<std::size_t>(s);
      const int slot = node * slots_per_node + device_packing.pack[us] * slots_per_device +
                       device_packing.rank[us];
      const int expert =
          mlog_to_log[static_cast<std::size_t>(node * experts_per_node + rep.slot_item[us])];
      plan.slot_expert[static_cast<std::size_t>(slot)] = expert;
      plan.slot_rank[static_cast<std::size_t>(slot)] = rep.slot_rank[us];
    }
    for (int j = 0; j < experts_per_node; ++j) {
      plan.replica_count[static_cast<std::size_t>(
          mlog_to_log[static_cast<std::size_t>(node * experts_per_node + j)])] =
          rep.count[static_cast<std::size_t>(j)];
    }
  }
  return plan;
}

std::vector<int> assign_replicas(const PolicyOutcome& outcome, const ReplicaPlan& plan,
                                 const RouterOutput& router, ReplicaChoice choice) {
  const std::int64_t tokens = router.tokens;
  const int k = router.top_k;
  std::vector<std::vector<int>> slots(static_cast<std::size_t>(plan.experts));
  for (int e = 0; e < plan.experts; ++e)
    slots[static_cast<std::size_t>(e)] = plan.slots_of(e);
  std::vector<int> out(outcome.kept.size());
  std::int64_t token = -1;
  int added = 0;  // pairs outside the token's top-k so far
  for (std::size_t i = 0; i < outcome.kept.size(); ++i) {
    const auto& pair = outcome.kept[i];
    if (pair.token < 0 || pair.token >= tokens) {
      throw Error("a kept pair names token " + std::to_string(pair.token) + " of " +
                  std::to_string(tokens));
    }
    if (pair.token != token) token = pair.token, added = 0;
    int position = -1;  // the pair's top-k slot
    for (int j = 0; j < k && position < 0; ++j) {
      if (router.topk_expert(pair.token, j) == pair.expert) position = j;
    }
    if (position < 0) position = k + added++;
    const auto routed_index =
        static_cast<std::uint64_t>(pair.token) * static_cast<std::uint64_t>(k) +
        static_cast<std::uint64_t>(position);
    if (pair.expert < 0 || pair.expert >= plan.experts) {
      throw Error("a kept pair names expert " + std::to_string(pair.expert) +
                  " but the replica plan has " + std::to_string(plan.experts) + " experts");
    }
    const auto& replicas = slots[static_cast<std::size_t>(pair.expert)];
    int chosen = -1;
    if (choice == ReplicaChoice::kLocalFirst) {
      const int source = routing::source_of_token(pair.token, plan.devices, tokens);
      for (int s : replicas) {
        if (plan.device_of_slot(s) == source) {
          chosen = s;
          break;
        }
      }
    }
    if (chosen < 0) chosen = replicas[routed_index % replicas.size()];
    out[i] = chosen;
  }
  return out;
}

std::vector<std::int64_t> slot_load(const std::vector<int>& pair_slot, int slots) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(slots), 0);
  for (int s : pair_slot)
    ++out[static_cast<std::size_t>(s)];
  return out;
}

std::vector<std::int64_t> device_load_of_slots(const std::vector<std::int64_t>& slot_load,
                                               const ReplicaPlan& plan) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(plan.devices), 0);
  for (int s = 0; s < plan.slot_count(); ++s)
    out[static_cast<std::size_t>(plan.device_of_slot(s))] += slot_load[static_cast<std::size_t>(s)];
  return out;
}

}  // namespace moescope
