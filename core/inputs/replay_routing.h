// Replayed routing: router logits (and hidden states, when recorded) read from a safetensors
// file, so that a real model's routing runs through the policies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/inputs/routing_source.h"
#include "core/model/model_spec.h"

namespace moescope {

// Replays `model.layers.{i}.router_logits` (and `model.layers.{i}.hidden_states` when present;
// seeded synthetic hidden states otherwise; and the router's selection bias
// `model.layers.{i}.e_score_correction_bias` when present) from a safetensors file. Every step
// replays the same tensors. Checks every layer the spec runs before returning.
// A load dump (scripts/convert_load_dump.py) holds `model.layers.{i}.topk_ids` [T, k] instead
// of logits: the experts a serving engine chose, integers stored as F32; then every pair weighs
// 1/k, the hidden states are synthetic, and has_scores() is false.
std::unique_ptr<RoutingSource> make_replay_routing(const ModelSpec& spec, const std::string& path,
                                                   std::uint64_t seed);

// The tensor names the replay source reads.
std::string logits_tensor_name(int layer);
std::string hidden_tensor_name(int layer);
std::string bias_tensor_name(int layer);
std::string topk_ids_tensor_name(int layer);

}  // namespace moescope
