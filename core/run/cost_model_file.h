// The cost models fitted on this machine, kept in one JSON file in the user's data folder
// (cost_models.json beside the default session): one per machine, backend and shape, the
// newest replacing an older one. A modeled run finds its model there.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/run/cost_model.h"

namespace moescope {

std::string default_cost_model_path();

nlohmann::json cost_model_to_json(const CostModel& model);
CostModel cost_model_from_json(const nlohmann::json& json, const std::string& where);

// Every model in the file; none when it does not exist. Throws Error naming the file when it
// is damaged.
std::vector<CostModel> load_cost_models(const std::string& path);
// Adds the model, replacing one of the same machine, backend and shapes; written to a
// temporary file and renamed, so a failed write leaves the old file whole.
void save_cost_model(const std::string& path, const CostModel& model);

std::optional<CostModel> find_cost_model(const std::vector<CostModel>& models,
                                         const std::string& machine, const std::string& backend,
                                         const ModelSpec& spec);

// The cost models of one file, read when first asked for.
class CostModels {
 public:
  explicit CostModels(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // Throws Error when the file is damaged.
  std::optional<CostModel> find(const std::string& machine, const std::string& backend,
                                const ModelSpec& spec);
  void add(const CostModel& model);

 private:
  std::string path_;
  std::optional<std::vector<CostModel>> models_;
};

}  // namespace moescope
