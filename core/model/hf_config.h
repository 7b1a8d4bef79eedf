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

// `path` is a config.json or a model folder holding one. The spec is named after the folder.
ModelSpec load_hf_config(const std::string& path);

// What `--spec`, `--model` and the GUI's spec field take: a MoEScope spec JSON, a Hugging Face
// config.json (it has a model_type) or a model folder holding one.
ModelSpec load_model_file(const std::string& path);

}  // namespace moescope
