// Replicated experts (shared/ALGORITHMS.md, Replicated experts): DeepSeek's EPLB placement of
// E logical experts on P = E + R physical slots over D devices, and the choice of a replica for
// every kept pair.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/moe/policy.h"

namespace moescope {

// `hierarchical` packs expert groups to nodes first (needs groups % nodes == 0); `global` treats
// all experts as one group on one node; `automatic` picks hierarchical when it applies.
enum class EplbAlgorithm { kAutomatic, kHierarchical, kGlobal };
enum class ReplicaChoice { kRoundRobin, kLocalFirst };

std::string eplb_algorithm_name(EplbAlgorithm algorithm);
EplbAlgorithm parse_eplb_algorithm(const std::string& name);
std::string replica_choice_name(ReplicaChoice choice);
ReplicaChoice parse_replica_choice(const std::string& name);

struct EplbOptions {
  int redundant_slots = 0;  // R
  int devices = 1;          // D
  int nodes = 1;            // devices per node = D / nodes
  int groups = 1;           // the model's expert groups (n_group), 1 when it has none
  EplbAlgorithm algorithm = EplbAlgorithm::kAutomatic;
  // Two replicas of one expert never share a device when another device with room exists.
  bool spread = true;
};

// One layer's placement. Slot s lives on device s / slots_per_device().
struct ReplicaPlan {
  int experts = 0;
  int devices = 1;
  std::vector<int> slot_expert;    // [P] the logical expert of each physical slot
  std::vector<int> slot_rank;      // [P] which replica of its expert the slot is (0, 1, ...)
  std::vector<int> replica_count;  // [E]

  int slot_count() const { return static_cast<int>(slot_expert.size()); }
  int slots_per_device() const { return slot_count() / devices; }
  int device_of_slot(int slot) const { return slot / slots_per_device(); }
  // The slots of one expert by replica rank.
  std::vector<int> slots_of(int expert) const;
};

// Replicated experts in a run: the plan's shape, the calibration window that makes it and how
// pairs choose replicas. A run with replicas > 0 runs `replicate` (every pair kept, on the
// replicas) and each drop point on the replicas beside its other policies.
struct ReplicationOptions {
  int replicas = 0;  // R redundant slots; 0: none
  ReplicaChoice choice = ReplicaChoice::kRoundRobin;
  EplbAlgorithm algorithm = EplbAlgorithm::kAutomatic;
  int nodes = 1;
  int groups = 1;
  bool spread = true;
  int calibration_steps = 1;  // the first steps' routed loads make each layer's plan
  // Instead, loads measured elsewhere (a stored run, an engine's counts): one row of E token
  // counts per MoE layer number (rows of layers a run does not visit may be empty), and where
  // they come from.
  std::vector<std::vector<double>> calibration_loads;
  std::string calibration_source;

  bool operator==(const ReplicationOptions&) const = default;
};

EplbOptions eplb_options(const ReplicationOptions& replication, int devices);

// The algorithm `automatic` stands for with these options (hierarchical or global).
EplbAlgorithm resolved_algorithm(int experts, const EplbOptions& options);

// Throws Error naming the mismatch when the options cannot place `experts` experts: slots that
// do not split evenly over the devices, devices that do not split over the nodes, a hierarchical
// plan whose groups do not split over the nodes or experts over the groups.
void validate_eplb_options(int experts, const EplbOptions& options);

// The plan of one layer from its expert loads (a calibration window's token counts; finite and
// >= 0, one per expert). Deterministic: every sort is stable, ties go to the lower index.
ReplicaPlan plan_replicas(const std::vector<double>& expert_load, const EplbOptions& options);

// The physical slot of every kept pair, in outcome order. round_robin (vLLM) takes the pair's
// position among the routed pairs, t * k + j for top-k slot j, modulo its expert's replica
// count, so dropping other pairs moves no pair to another replica; a pair a policy added
// counts on after its token's k slots. local_first (SGLang's static dispatch) takes a replica
// on the token's source device when the expert has one, else round robin.
std::vector<int> assign_replicas(const PolicyOutcome& outcome, const ReplicaPlan& plan,
                                 const RouterOutput& router, ReplicaChoice choice);

// Pairs per physical slot, and per device (the slots' devices).
std::vector<std::int64_t> slot_load(const std::vector<int>& pair_slot, int slots);
std::vector<std::int64_t> device_load_of_slots(const std::vector<std::int64_t>& slot_load,
                                               const ReplicaPlan& plan);

}  // namespace moescope
