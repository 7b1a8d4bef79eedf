#include "core/inputs/checkpoint_weights.h"

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

// The names of one expert's three projections under each layout transformers and the model
// publishers write: gate, up, down.
struct ExpertNames {
  std::string gate, up, down;
};

ExpertNames per_expert_names(int decoder_layer, int e) {
  const std::string p = prefix(decoder_layer) + "mlp.experts." + std::to_string(e) + ".";
  return {p + "gate_proj.weight", p + "up_proj.weight", p + "down_proj.weight"};
}

ExpertNames mixtral_names(int decoder_layer, int e) {
  const std::string p =
      prefix(decoder_layer) + "block_sparse_moe.experts." + std::to_string(e) + ".";
  return {p + "w1.weight", p + "w3.weight", p + "w2.weight"};
}

// The shape and router a checkpoint must agree with, for the message that says they do not.
std::string summary(const ModelSpec& s) {
  return "H " + std::to_string(s.hidden) + ", F " + std::to_string(s.expert_ffn) + ", E " +
         std::to_string(s.experts) + ", top-" + std::to_string(s.top_k) + ", " +
         std::to_string(s.layers) + " MoE layers, " + std::to_string(s.shared_experts) +
         " shared x " + std::to_string(s.shared_ffn) + ", router " + describe(s.router);
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
    // Open every shard now, so a truncated one fails before the run starts.
    for (const auto& [tensor, path] : shard_of_) {
      if (!files_.contains(path)) files_[path] = std::make_unique<SafetensorsFile>(path);
    }
  } else if (fs::exists(single, ec)) {
    files_[single.string()] = std::make_unique<SafetensorsFile>(single.string());
  } else {
    throw Error(folder + ": no model.safetensors or model.safetensors.index.json");
  }
  // The first layer the run visits proves the names and shapes before anything is stored.
  const std::vector<int> layers = spec.run_layers();
  if (!layers.empty()) (void)layer(layers.front());
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

std::vector<float> CheckpointWeights::read(const std::string& tensor, std::int64_t rows,
                                           std::int64_t cols) const {
  const TensorInfo* t = find(tensor);
  const SafetensorsFile& file = file_of(tensor);
  if (t == nullptr) {
    throw Error((shard_of_.empty() ? file.path() : folder_ + "/model.safetensors.index.json") +
                ": no tensor '" + tensor + "'");
  }
  const std::vector<std::int64_t> expected = {rows, cols};
  if (t->shape != expected) {
    throw Error(file.path() + ": tensor '" + tensor + "' has shape " + shape_text(t->shape) +
                ", the model's spec needs " + shape_text(expected));
  }
  return file.read_f32(*t);
}

void CheckpointWeights::read_routed(int decoder_layer, ExpertWeights& w) const {
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto F = static_cast<std::size_t>(w.ffn);
  const std::string fused = prefix(decoder_layer) + "mlp.experts.gate_up_proj";
  if (const TensorInfo* t = find(fused)) {
    // Newer transformers versions' fused layout: gate_up [E, 2F, H] (gate rows first) and
    // down [E, H, F], exactly MoEScope's.
    const std::vector<std::int64_t> expected = {w.experts, 2 * w.ffn, w.hidden};
    if (t->shape != expected) {
      throw Error(file_of(fused).path() + ": tensor '" + fused + "' has shape " +
                  shape_text(t->shape) + ", the model's spec needs " + shape_text(expected));
    }
    w.gate_up = file_of(fused).read_f32(*t);
    const std::string down = prefix(decoder_layer) + "mlp.experts.down_proj";
    const TensorInfo* d = find(down);
    const std::vector<std::int64_t> down_shape = {w.experts, w.hidden, w.ffn};
    if (d == nullptr) throw Error(file_of(fused).path() + ": no tensor '" + down + "'");
    if (d->shape != down_shape) {
      throw Error(file_of(down).path() + ": tensor '" + down + "' has shape " +
                  shape_text(d->shape) + ", the model's spec needs " + shape_text(down_shape));
    }
    w.down = file_of(down).read_f32(*d);
    return;
  }
  const bool mixtral = find(per_expert_names(decoder_layer, 0).gate) == nullptr &&
                       find(mixtral_names(decoder_layer, 0).gate) != nullptr;
  w.gate_up.resize(static_cast<std::size_t>(w.experts) * 2 * F * H);
  w.down.resize(static_cast<std::size_t>(w.experts) * H * F);
  for (int e = 0; e < w.experts; ++e) {
    const ExpertNames n =
        mixtral ? mixtral_names(decoder_layer, e) : per_expert_names(decoder_layer, e);
    const auto gate = read(n.gate, w.ffn, w.hidden);
    const auto up = read(n.up, w.ffn, w.hidden);
    const auto down = read(n.down, w.hidden, w.ffn);
    float* gu = w.gate_up.data() + static_cast<std::size_t>(e) * 2 * F * H;
    std::copy(gate.begin(), gate.end(), gu);
    std::copy(up.begin(), up.end(), gu + F * H);
    std::copy(down.begin(), down.end(), w.down.data() + static_cast<std::size_t>(e) * H * F);
  }
}

void CheckpointWeights::read_shared(int decoder_layer, ExpertWeights& w) const {
  if (w.shared_experts == 0) return;
  const auto H = static_cast<std::size_t>(w.hidden);
  const auto Fs = static_cast<std::size_t>(w.shared_ffn);
  const auto S = static_cast<std::size_t>(w.shared_experts);
  // DeepSeek stores its S shared experts as one MLP S * Fs wide; Qwen2-MoE one shared expert.
  const std::string deepseek = prefix(decoder_layer) + "mlp.shared_experts.";
  const std::string qwen = prefix(decoder_layer) + "mlp.shared_expert.";
  const std::string p = find(deepseek + "gate_proj.weight") != nullptr ? deepseek : qwen;
  const auto width = static_cast<std::int64_t>(S * Fs);
  const auto gate = read(p + "gate_proj.weight", width, w.hidden);
  const auto up = read(p + "up_proj.weight", width, w.hidden);
  const auto down = read(p + "down_proj.weight", w.hidden, width);
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
  if (w.shared_gate_sigmoid) {
    w.shared_gate = read(prefix(decoder_layer) + "mlp.shared_expert_gate.weight", 1, w.hidden);
  }
}

ExpertWeights CheckpointWeights::layer(int layer) const {
  if (layer < 0 || layer >= static_cast<int>(decoder_layers_.size())) {
    throw Error(folder_ + ": no MoE layer " + std::to_string(layer) + " (the model has " +
                std::to_string(decoder_layers_.size()) + ")");
  }
  require_memory(expert_weight_bytes(spec_) * 2,
                 "the checkpoint weights of one MoE layer (" +
                     format_bytes(expert_weight_bytes(spec_)) + " in fp32)",
                 "run on a machine with more memory: the layers load one at a time");
  ExpertWeights w;
  w.hidden = spec_.hidden;
  w.ffn = spec_.expert_ffn;
  w.experts = spec_.experts;
  w.shared_experts = spec_.shared_experts;
  w.shared_ffn = spec_.shared_ffn;
  w.shared_gate_sigmoid = spec_.shared_gate_sigmoid;
  const int decoder_layer = decoder_layers_[static_cast<std::size_t>(layer)];
  read_routed(decoder_layer, w);
  read_shared(decoder_layer, w);
  return w;
}

}  // namespace moescope
