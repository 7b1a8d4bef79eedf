#include "core/inputs/checkpoint_weights.h"

#include <atomic>
#include <cmath>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/memory_check.h"
#include "core/model/hf_config.h"
#include "core/model/json_file.h"

namespace moescope {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
  return out + "]";
}

std::string prefix(int decoder_layer) {
  return "model.layers." + std::to_string(decoder_layer) + ".";
}

// One expert's three projections under the per-expert layouts transformers and the model
// publishers write.
ExpertTensorNames per_expert_names(int decoder_layer, int e) {
  const std::string p = prefix(decoder_layer) + "mlp.experts." + std::to_string(e) + ".";
  return {p + "gate_proj.weight", p + "up_proj.weight", p + "down_proj.weight"};
}

ExpertTensorNames mixtral_names(int decoder_layer, int e) {
  const std::string p =
      prefix(decoder_layer) + "block_sparse_moe.experts." + std::to_string(e) + ".";
  return {p + "w1.weight", p + "w3.weight", p + "w2.weight"};
}

// The shape and router a checkpoint must agree with, for the message that says they do not.
std::string summary(const ModelSpec& s) {
  return "H " + std::to_string(s.hidden) + ", F " + std::to_string(s.expert_ffn) + ", E " +
         std::to_string(s.experts) + ", top-" + std::to_string(s.top_k) + ", " +
         std::to_string(s.layers) + " MoE layers, " + std::to_string(s.shared_experts) +
         " shared x " + std::to_string(s.shared_ffn) + ", router " + describe(s.router) +
         ", experts " + describe(s.mlp);
}

}  // namespace

CheckpointWeights::CheckpointWeights(const std::string& folder, const ModelSpec& spec)
    : folder_(folder), spec_(spec) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    throw Error(folder +
                ": checkpoint weights need a model folder (config.json and its "
                "safetensors files)");
  }
  const std::string config_path = hf_config_path(folder);
  const nlohmann::json config = read_json_file(config_path, "Hugging Face config");
  ModelSpec theirs = spec_from_hf_config(config, config_path);
  decoder_layers_ = hf_moe_decoder_layers(config, config_path);
  gpt_oss_ = config.value("model_type", std::string()) == "gpt_oss";
  // The checkpoint must be the model the run describes, at full size.
  theirs.name = spec.name;
  theirs.layer_subset = spec.layer_subset;
  if (theirs != spec) {
    throw Error(folder + ": the checkpoint's config describes " + summary(theirs) +
                "; the run's model is " + summary(spec) +
                " (real weights run at scale 1, with the checkpoint's own config)");
  }
  const fs::path index = fs::path(folder) / "model.safetensors.index.json";
  const fs::path single = fs::path(folder) / "model.safetensors";
  if (fs::exists(index, ec)) {
    const nlohmann::json j = read_json_file(index.string(), "checkpoint index");
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
      throw Error(index.string() + ": field 'weight_map' is missing or not an object");
    }
    for (const auto& [tensor, shard] : j["weight_map"].items()) {
      if (!shard.is_string()) {
        throw Error(index.string() + ": field 'weight_map." + tensor + "' must be a file name");
      }
      const fs::path shard_path = fs::path(folder) / shard.get<std::string>();
      if (shard.get<std::string>().find('/') != std::string::npos) {
        throw Error(index.string() + ": shard '" + shard.get<std::string>() +
                    "' is not a file in the model folder");
      }
      if (!fs::exists(shard_path, ec)) {
        throw Error(index.string() + ": names shard '" + shard.get<std::string>() +
                    "', which is not in " + folder);
      }
      shard_of_[tensor] = shard_path.string();
    }
    if (shard_of_.empty()) throw Error(index.string() + ": 'weight_map' lists no tensor");
    // Open every shard now, so a truncated one fails before the run starts.
    for (const auto& [tensor, path] : shard_of_) {
      if (!files_.contains(path)) files_[path] = std::make_unique<SafetensorsFile>(path);
    }
  } else if (fs::exists(single, ec)) {
    files_[single.string()] = std::make_unique<SafetensorsFile>(single.string());
  } else {
    throw Error(folder + ": no model.safetensors or model.safetensors.index.json");
  }
  // Every layer the run visits proves its names and shapes before anything is stored (the
  // values are read, and checked, when the layer runs).
  for (int layer : spec.run_layers())
    check_layer(layer);
}

std::string CheckpointWeights::describe() const {
  return "checkpoint(" + folder_ + ")";
}

const TensorInfo* CheckpointWeights::find(const std::string& tensor) const {
  if (!shard_of_.empty()) {
    const auto it = shard_of_.find(tensor);
    if (it == shard_of_.end()) return nullptr;
    return files_.at(it->second)->find(tensor);
  }
  return files_.begin()->second->find(tensor);
}

const SafetensorsFile& CheckpointWeights::file_of(const std::string& tensor) const {
  if (!shard_of_.empty()) {
    const auto it = shard_of_.find(tensor);
    if (it != shard_of_.end()) return *files_.at(it->second);
  }
  return *files_.begin()->second;
}

const TensorInfo& CheckpointWeights::require(const std::string& tensor,
                                             const std::vector<std::int64_t>& shape) const {
  const TensorInfo* t = find(tensor);
  if (t == nullptr) {
    throw Error(
        (shard_of_.empty() ? file_of(tensor).path() : folder_ + "/model.safetensors.index.json") +
        ": no tensor '" + tensor + "'");
  }
  if (t->shape != shape) {
    throw Error(file_of(tensor).path() + ": tensor '" + tensor + "' has shape " +
                shape_text(t->shape) + ", the model's spec needs " + shape_text(shape));
  }
  (void)file_of(tensor).element_count(*t);  // throws for a dtype that is not F32, F16 or BF16
  return *t;
}

void CheckpointWeights::read_into(const std::string& tensor, const std::vector<std::int64_t>& shape,
                                  float* out) const {
  const TensorInfo& info = require(tensor, shape);
  read_range_into(tensor, shape, 0, file_of(tensor).element_count(info), out);
}

void CheckpointWeights::read_range_into(const std::string& tensor,
                                        const std::vector<std::int64_t>& shape, std::uint64_t first,
                                        std::uint64_t count, float* out) const {
  const TensorInfo& info = require(tensor, shape);
  const SafetensorsFile& file = file_of(tensor);
  if (file.read_f32_range_into(info, first, count, out)) return;
  // A NaN or infinite weight would make every output it touches NaN: refused by name.
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!std::isfinite(out[i])) {
      throw Error(file.path() + ": tensor '" + tensor + "' holds " +
                  (std::isnan(out[i]) ? "NaN" : "an infinite value") + " at element " +
                  std::to_string(first + i));
    }
  }
}

CheckpointWeights::LayerTensors CheckpointWeights::tensors_of(int decoder_layer) const {
  LayerTensors t;
  const std::string p = prefix(decoder_layer);
  if (find(p + "mlp.experts.gate_up_proj_blocks") != nullptr) {
    // gpt-oss as published: MXFP4 blocks and scales.
    throw Error(folder_ + ": tensor '" + p +
                "mlp.experts.gate_up_proj_blocks' holds MXFP4-quantized experts; MoEScope reads "
                "BF16, F16 or F32 (dequantize first: transformers' Mxfp4Config(dequantize=True), "
                "then save_pretrained)");
  }
  if (gpt_oss_) {
    t.gpt_oss_layout = true;
    t.fused_gate_up = p + "mlp.experts.gate_up_proj";
    t.fused_down = p + "mlp.experts.down_proj";
    t.gate_up_bias = p + "mlp.experts.gate_up_proj_bias";
    t.down_bias = p + "mlp.experts.down_proj_bias";
  } else if (find(p + "mlp.experts.gate_up_proj") != nullptr) {
    // Newer transformers versions' fused layout: gate_up [E, 2F, H] (gate rows first) and
    // down [E, H, F], exactly MoEScope's.
    t.fused_gate_up = p + "mlp.experts.gate_up_proj";
    t.fused_down = p + "mlp.experts.down_proj";
  } else {
    const bool mixtral = find(per_expert_names(decoder_layer, 0).gate) == nullptr &&
                         find(mixtral_names(decoder_layer, 0).gate) != nullptr;
    for (int e = 0; e < spec_.experts; ++e) {
      t.experts.push_back(mixtral ? mixtral_names(decoder_layer, e)
                                  : per_expert_names(decoder_layer, e));
    }
  }
  if (spec_.shared_experts > 0) {
    // DeepSeek stores its S shared experts as one MLP S * Fs wide; Qwen2-MoE one shared expert.
    const std::string deepseek = p + "mlp.shared_experts.";
    const std::string s =
        find(deepseek + "gate_proj.weight") != nullptr ? deepseek : p + "mlp.shared_expert.";
    t.shared = {s + "gate_proj.weight", s + "up_proj.weight", s + "down_proj.weight"};
    if (spec_.shared_gate_sigmoid) t.shared_gate = p + "mlp.shared_expert_gate.weight";
  }
  return t;
}

void CheckpointWeights::check_layer(int layer) const {
  const LayerTensors t = tensors_of(decoder_layer_of(layer));
  const std::int64_t E = spec_.experts, H = spec_.hidden, F = spec_.expert_ffn;
  const std::int64_t wide = static_cast<std::int64_t>(spec_.shared_experts) * spec_.shared_ffn;
  if (t.gpt_oss_layout) {
    require(t.fused_gate_up, {E, H, 2 * F});
    require(t.fused_down, {E, F, H});
    require(t.gate_up_bias, {E, 2 * F});
    require(t.down_bias, {E, H});
  } else if (!t.fused_gate_up.empty()) {
    require(t.fused_gate_up, {E, 2 * F, H});
    require(t.fused_down, {E, H, F});
  }
  for (const ExpertTensorNames& n : t.experts) {
    require(n.gate, {F, H});
    require(n.up, {F, H});
    require(n.down, {H, F});
  }
  if (!t.shared.gate.empty()) {
    require(t.shared.gate, {wide, H});
    require(t.shared.up, {wide, H});
    require(t.shared.down, {H, wide});
  }
  if (!t.shared_gate.empty()) require(t.shared_gate, {1, H});
}

void CheckpointWeights::read_routed(const LayerTensors& t, ExpertWeights& w) const {
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto F = static_cast<std::size_t>(w.ffn);
  w.gate_up.resize(static_cast<std::size_t>(w.experts) * 2 * F * H);
  w.down.resize(static_cast<std::size_t>(w.experts) * H * F);
  if (t.gpt_oss_layout) {
    read_gpt_oss(t, w);
    return;
  }
  if (!t.fused_gate_up.empty()) {
    read_into(t.fused_gate_up, {w.experts, 2 * w.ffn, w.hidden}, w.gate_up.data());
    read_into(t.fused_down, {w.experts, w.hidden, w.ffn}, w.down.data());
    return;
  }
  for (std::size_t e = 0; e < t.experts.size(); ++e) {
    const ExpertTensorNames& n = t.experts[e];
    float* gu = w.gate_up.data() + e * 2 * F * H;
    read_into(n.gate, {w.ffn, w.hidden}, gu);
    read_into(n.up, {w.ffn, w.hidden}, gu + F * H);
    read_into(n.down, {w.hidden, w.ffn}, w.down.data() + e * H * F);
  }
}

void CheckpointWeights::read_gpt_oss(const LayerTensors& t, ExpertWeights& w) const {
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto F = static_cast<std::size_t>(w.ffn);
  const auto E = static_cast<std::size_t>(w.experts);
  const std::vector<std::int64_t> gate_up_shape = {w.experts, w.hidden, 2 * w.ffn};
  const std::vector<std::int64_t> down_shape = {w.experts, w.ffn, w.hidden};
  // One expert at a time through a slice-sized buffer, so a layer costs its own size in memory.
  std::vector<float> slice(2 * F * H);
  for (std::size_t e = 0; e < E; ++e) {
    // [H, 2F], column 2f the gate's row f and column 2f + 1 the up projection's.
    read_range_into(t.fused_gate_up, gate_up_shape, e * H * 2 * F, H * 2 * F, slice.data());
    float* gu = w.gate_up.data() + e * 2 * F * H;
    for (std::size_t h = 0; h < H; ++h) {
      const float* row = slice.data() + h * 2 * F;
      for (std::size_t f = 0; f < F; ++f) {
        gu[f * H + h] = row[2 * f];
        gu[(F + f) * H + h] = row[2 * f + 1];
      }
    }
    // [F, H] to [H, F].
    read_range_into(t.fused_down, down_shape, e * F * H, F * H, slice.data());
    float* d = w.down.data() + e * H * F;
    for (std::size_t f = 0; f < F; ++f) {
      for (std::size_t h = 0; h < H; ++h)
        d[h * F + f] = slice[f * H + h];
    }
  }
  std::vector<float> interleaved(E * 2 * F);
  read_into(t.gate_up_bias, {w.experts, 2 * w.ffn}, interleaved.data());
  w.gate_up_bias.resize(E * 2 * F);
  for (std::size_t e = 0; e < E; ++e) {
    for (std::size_t f = 0; f < F; ++f) {
      w.gate_up_bias[e * 2 * F + f] = interleaved[e * 2 * F + 2 * f];
      w.gate_up_bias[e * 2 * F + F + f] = interleaved[e * 2 * F + 2 * f + 1];
    }
  }
  w.down_bias.resize(E * H);
  read_into(t.down_bias, {w.experts, w.hidden}, w.down_bias.data());
}

void CheckpointWeights::read_shared(const LayerTensors& t, ExpertWeights& w) const {
  if (t.shared.gate.empty()) return;
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto Fs = static_cast<std::size_t>(w.shared_ffn);
  const auto S = static_cast<std::size_t>(w.shared_experts);
  const auto wide = static_cast<std::int64_t>(S * Fs);
  std::vector<float> gate(S * Fs * H), up(S * Fs * H), down(H * S * Fs);
  read_into(t.shared.gate, {wide, w.hidden}, gate.data());
  read_into(t.shared.up, {wide, w.hidden}, up.data());
  read_into(t.shared.down, {w.hidden, wide}, down.data());
  // Shared expert s is rows s*Fs.. of gate and up and the same columns of down: the wide MLP is
  // the sum of the S narrow ones.
  w.shared_gate_up.resize(S * 2 * Fs * H);
  w.shared_down.resize(S * H * Fs);
  for (std::size_t s = 0; s < S; ++s) {
    float* gu = w.shared_gate_up.data() + s * 2 * Fs * H;
    std::copy(gate.begin() + static_cast<std::ptrdiff_t>(s * Fs * H),
              gate.begin() + static_cast<std::ptrdiff_t>((s + 1) * Fs * H), gu);
    std::copy(up.begin() + static_cast<std::ptrdiff_t>(s * Fs * H),
              up.begin() + static_cast<std::ptrdiff_t>((s + 1) * Fs * H), gu + Fs * H);
    float* d = w.shared_down.data() + s * H * Fs;
    for (std::size_t h = 0; h < H; ++h) {
      const float* row = down.data() + h * S * Fs + s * Fs;
      std::copy(row, row + Fs, d + h * Fs);
    }
  }
  if (!t.shared_gate.empty()) {
    w.shared_gate.resize(H);
    read_into(t.shared_gate, {1, w.hidden}, w.shared_gate.data());
  }
}

int CheckpointWeights::decoder_layer_of(int layer) const {
  if (layer < 0 || layer >= static_cast<int>(decoder_layers_.size())) {
    throw Error(folder_ + ": no MoE layer " + std::to_string(layer) + " (the model has " +
                std::to_string(decoder_layers_.size()) + ")");
  }
  return decoder_layers_[static_cast<std::size_t>(layer)];
}

ExpertWeights CheckpointWeights::layer(int layer) const {
  ExpertWeights w;
  load_layer(layer, w);
  return w;
}

void CheckpointWeights::load_layer(int layer, ExpertWeights& w) const {
  const LayerTensors tensors = tensors_of(decoder_layer_of(layer));
  const std::uint64_t held = (w.gate_up.size() + w.down.size()) * sizeof(float);
  const std::uint64_t needed = expert_weight_bytes(spec_);
  if (needed > held) {
    require_memory(needed - held,
                   "the checkpoint weights of one MoE layer (" + format_bytes(needed) + " in fp32)",
                   "run on a machine with more memory: the layers load one at a time");
  }
  w.hidden = spec_.hidden;
  w.ffn = spec_.expert_ffn;
  w.experts = spec_.experts;
  w.shared_experts = spec_.shared_experts;
  w.shared_ffn = spec_.shared_ffn;
  w.shared_gate_sigmoid = spec_.shared_gate_sigmoid;
  w.mlp = spec_.mlp;
  static std::atomic<std::uint64_t> loads{0};
  w.generation = ++loads;  // before the values change, so a failed load matches no cache
  read_routed(tensors, w);
  read_shared(tensors, w);
}

}  // namespace moescope
