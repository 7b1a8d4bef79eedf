#include "app/viewdata/run_data.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace moescope::viewdata {

std::optional<double> RunData::metric(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return m.mean;
  }
  return std::nullopt;
}

const MetricRow* RunData::metric_row(std::string_view name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

bool RunData::same_work() const {
  return !layers.empty() && std::all_of(layers.begin(), layers.end(), [](const LayerStatRow& l) {
    return l.same_work_as_baseline;
  });
}

int RunData::repeats() const {
  int most = 1;
  for (const auto& l : layers)
    most = std::max(most, l.repeats);
  return most;
}

std::string RunData::capacity_scope() const {
  const auto j = nlohmann::json::parse(run.request_json, nullptr, false);
  if (j.is_object() && j.contains("policies") && j["policies"].is_object()) {
    const auto& policies = j["policies"];
    if (policies.contains("capacity_scope") && policies["capacity_scope"].is_string())
      return policies["capacity_scope"].get<std::string>();
  }
  return "global";
}

std::string RunData::display_name() const {
  return run.name + " (#" + std::to_string(run.id) + ")";
}

RunData load_run_data(SessionStore& store, std::int64_t id) {
  RunData data;
  data.session_path = store.path();
  data.run = store.run(id);
  data.metrics = store.metrics(id);
  data.layers = store.layer_stats(id);
  return data;
}

std::vector<LayerLatency> latency_per_layer(const RunData& run) {
  std::map<int, std::pair<double, int>> sums;
  for (const auto& row : run.layers) {
    auto& [sum, count] = sums[row.layer];
    sum += static_cast<double>(row.latency_ns);
    ++count;
  }
  std::vector<LayerLatency> out;
  out.reserve(sums.size());
  for (const auto& [layer, sum_count] : sums) {
    out.push_back({layer, sum_count.first / sum_count.second});
  }
  return out;
}

namespace {

// Indented JSON with arrays of numbers or strings on one line: a layer list or placement reads
// as one line, not fifty.
void pretty_json(std::ostringstream& out, const nlohmann::json& j, int indent) {
  const auto dump = [](const nlohmann::json& v) {
    // Replace, not throw: a spec is user text and a report must not fail on one odd byte.
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  if (j.is_object() && !j.empty()) {
    out << "{\n";
    std::size_t i = 0;
    for (const auto& [key, value] : j.items()) {
      out << pad << dump(key) << ": ";
      pretty_json(out, value, indent + 2);
      out << (++i < j.size() ? ",\n" : "\n");
    }
    out << std::string(static_cast<std::size_t>(indent), ' ') << "}";
  } else if (j.is_array() && !j.empty() &&
             std::any_of(j.begin(), j.end(), [](const auto& v) { return v.is_structured(); })) {
    out << "[\n";
    for (std::size_t i = 0; i < j.size(); ++i) {
      out << pad;
      pretty_json(out, j[i], indent + 2);
      out << (i + 1 < j.size() ? ",\n" : "\n");
    }
    out << std::string(static_cast<std::size_t>(indent), ' ') << "]";
  } else if (j.is_array()) {
    out << "[";
    for (std::size_t i = 0; i < j.size(); ++i)
      out << (i ? ", " : "") << dump(j[i]);
    out << "]";
  } else {
    out << dump(j);
  }
}

// Short arrays of scalars are one value (a layer list, the gammas); objects and arrays of
// objects are walked.
bool is_leaf(const nlohmann::json& j) {
  if (j.is_object()) return false;
  if (!j.is_array()) return true;
  return std::none_of(j.begin(), j.end(),
                      [](const nlohmann::json& e) { return e.is_structured(); });
}

void collect_differences(const nlohmann::json* a, const nlohmann::json* b, const std::string& path,
                         std::vector<std::string>& out) {
  const auto text = [](const nlohmann::json* j) {
    return j == nullptr ? std::string("(absent)")
                        : j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (a != nullptr && b != nullptr && *a == *b) return;
  const bool walk_objects = a != nullptr && b != nullptr && a->is_object() && b->is_object();
  const bool walk_arrays = a != nullptr && b != nullptr && a->is_array() && b->is_array() &&
                           !is_leaf(*a) && !is_leaf(*b) && a->size() == b->size();
  if (walk_objects) {
    std::vector<std::string> keys;
    for (const auto& item : a->items())
      keys.push_back(item.key());
    for (const auto& item : b->items()) {
      if (!a->contains(item.key())) keys.push_back(item.key());
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      const auto ia = a->find(key);
      const auto ib = b->find(key);
      collect_differences(ia == a->end() ? nullptr : &*ia, ib == b->end() ? nullptr : &*ib,
                          path.empty() ? key : path + "." + key, out);
    }
    return;
  }
  if (walk_arrays) {
    for (std::size_t i = 0; i < a->size(); ++i)
      collect_differences(&(*a)[i], &(*b)[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  out.push_back((path.empty() ? std::string("(the whole request)") : path) + ": " + text(a) +
                " → " + text(b));
}

}  // namespace

std::vector<std::string> request_differences(const std::string& a_json, const std::string& b_json) {
  auto parse = [](const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    return j.is_discarded() ? nlohmann::json(text) : j;
  };
  const nlohmann::json a = parse(a_json);
  const nlohmann::json b = parse(b_json);
  std::vector<std::string> out;
  collect_differences(&a, &b, "", out);
  return out;
}

std::string pretty_request_json(const std::string& request_json) {
  const auto j = nlohmann::json::parse(request_json, nullptr, false);
  if (j.is_discarded()) return request_json;
  std::ostringstream out;
  pretty_json(out, j, 0);
  return out.str();
}

}  // namespace moescope::viewdata
