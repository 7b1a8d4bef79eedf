#include "core/run/cost_model_file.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base/data_dir.h"
#include "core/base/error.h"
#include "core/base/file_output.h"
#include "core/model/json_file.h"

namespace moescope {

using nlohmann::json;

std::string default_cost_model_path() {
  return (std::filesystem::path(user_data_dir("place for cost models")) / "cost_models.json")
      .string();
}

namespace {

json fit_json(const LinearFit& fit) {
  json points = json::array();
  for (const auto& [x, t] : fit.points)
    points.push_back({x, t});
  return {{"intercept_ns", fit.intercept_ns},
          {"slope_ns", fit.slope_ns},
          {"relative_rms", fit.relative_rms},
          {"points", points}};
}

LinearFit fit_from(const json& j, const std::string& where) {
  LinearFit fit;
  try {
    fit.intercept_ns = j.at("intercept_ns").get<double>();
    fit.slope_ns = j.at("slope_ns").get<double>();
    fit.relative_rms = j.at("relative_rms").get<double>();
    for (const auto& p : j.at("points"))
      fit.points.emplace_back(p.at(0).get<double>(), p.at(1).get<double>());
  } catch (const json::exception&) {
    throw Error(where + ": a fit without its intercept, slope, error or points");
  }
  return fit;
}

bool same_key(const CostModel& a, const CostModel& b) {
  return a.machine == b.machine && a.backend == b.backend && a.hidden == b.hidden &&
         a.expert_ffn == b.expert_ffn && a.shared_ffn == b.shared_ffn;
}

}  // namespace

json cost_model_to_json(const CostModel& m) {
  return {{"machine", m.machine},
          {"backend", m.backend},
          {"hidden", m.hidden},
          {"expert_ffn", m.expert_ffn},
          {"shared_ffn", m.shared_ffn},
          {"fitted_at", m.fitted_at},
          {"expert", fit_json(m.expert)},
          {"dispatch", fit_json(m.dispatch)},
          {"combine", fit_json(m.combine)},
          {"shared", fit_json(m.shared)}};
}

CostModel cost_model_from_json(const json& j, const std::string& where) {
  CostModel m;
  try {
    m.machine = j.at("machine").get<std::string>();
    m.backend = j.at("backend").get<std::string>();
    m.hidden = j.at("hidden").get<int>();
    m.expert_ffn = j.at("expert_ffn").get<int>();
    m.shared_ffn = j.at("shared_ffn").get<int>();
    m.fitted_at = j.value("fitted_at", "");
  } catch (const json::exception&) {
    throw Error(where + ": a cost model without its machine, backend or shapes");
  }
  m.expert = fit_from(j.at("expert"), where);
  m.dispatch = fit_from(j.at("dispatch"), where);
  m.combine = fit_from(j.at("combine"), where);
  m.shared = fit_from(j.at("shared"), where);
  return m;
}

std::vector<CostModel> load_cost_models(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  const json j = read_json_file(path, "cost model file");
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array()) {
    throw Error(path + ": not a MoEScope cost model file (no 'models' list)");
  }
  std::vector<CostModel> out;
  for (std::size_t i = 0; i < j["models"].size(); ++i) {
    out.push_back(cost_model_from_json(j["models"][i], path + ": model " + std::to_string(i)));
  }
  return out;
}

void save_cost_model(const std::string& path, const CostModel& model) {
  std::vector<CostModel> models = load_cost_models(path);
  std::erase_if(models, [&](const CostModel& m) { return same_key(m, model); });
  models.push_back(model);
  json j = {{"models", json::array()}};
  for (const auto& m : models)
    j["models"].push_back(cost_model_to_json(m));
  write_file_atomically(path, json_text(j, 2) + "\n", "the cost models");
}

std::optional<CostModel> find_cost_model(const std::vector<CostModel>& models,
                                         const std::string& machine, const std::string& backend,
                                         const ModelSpec& spec) {
  for (auto it = models.rbegin(); it != models.rend(); ++it) {
    if (it->fits(machine, backend, spec)) return *it;
  }
  return std::nullopt;
}

std::optional<CostModel> CostModels::find(const std::string& machine, const std::string& backend,
                                          const ModelSpec& spec) {
  if (!models_) models_ = load_cost_models(path_);
  return find_cost_model(*models_, machine, backend, spec);
}

void CostModels::add(const CostModel& model) {
  save_cost_model(path_, model);
  models_.reset();
}

}  // namespace moescope
