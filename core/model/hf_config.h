// Model specs from a Hugging Face config.json: the architecture (model_type) decides which
// fields give the MoE shape and the router, as transformers' modeling code reads them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/model_spec.h"

namespace moescope {

// The model_type values read (Kimi-K2's "kimi_k2" is DeepSeek-V3's architecture).
std::vector<std::string> hf_model_types();

// The spec of `config` (a parsed config.json); `where` names the file in errors. Throws Error
// naming the file and the field for an unknown architecture, a missing field, a field of the
// wrong type, or a model whose MoE layers MoEScope cannot express.
ModelSpec spec_from_hf_config(const nlohmann::json& config, const std::string& where);

// The decoder layer of each MoE layer, in order (its tensors' `model.layers.{L}` index): dense
// leading layers and Qwen's skipped layers are not MoE layers.
std::vector<int> hf_moe_decoder_layers(const nlohmann::json& config, const std::string& where);

// A model folder's config.json, or `path` itself when it is not a folder.
std::string hf_config_path(const std::string& path);

// `path` is a config.json or a model folder holding one. The spec is named after the folder.
ModelSpec load_hf_config(const std::string& path);

// What `--spec`, `--model` and the GUI's spec field take: a MoEScope spec JSON, a Hugging Face
// config.json (it has a model_type) or a model folder holding one.
ModelSpec load_model_file(const std::string& path);

}  // namespace moescope
