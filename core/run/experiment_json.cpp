#include "core/run/experiment_json.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/base/error.h"
#include "core/model/json_file.h"
#include "core/model/spec_json.h"

namespace moescope {

using nlohmann::json;

namespace {

json kinds_json(const std::vector<PolicyKind>& kinds) {
  json out = json::array();
  for (PolicyKind k : kinds)
    out.push_back(policy_name(k));
  return out;
}

}  // namespace

json experiment_to_json(const Experiment& e) {
  // A spec file replaces the preset: the request names one of them.
  json model = e.model.spec_file.empty() ? json{{"preset", e.model.preset}}
                                         : json{{"spec_file", e.model.spec_file}};
  model["scale"] = e.model.scale;
  model["layers"] = e.model.layers;
  if (!e.model.weights_dir.empty()) model["weights"] = e.model.weights_dir;
  if (e.model.spec) model["spec"] = spec_to_json(*e.model.spec);
  const PolicyGrid& g = e.policies;
  json routing = {{"logits_file", e.routing.logits_file},
                  {"tokens", e.routing.tokens},
                  {"skew", e.routing.skew}};
  if (e.routing.drift > 0) routing["drift"] = e.routing.drift;  // older readers know no drift
  json out = {{"model", model},
              {"routing", routing},
              {"steps", e.steps},
              {"repeats", e.repeats},
              {"seed", e.seed},
              {"policies",
               {{"kinds", kinds_json(g.kinds)},
                {"gamma", g.gammas},
                {"m", g.ms},
                {"priority", priority_name(g.priority)},
                {"reroute_scope", reroute_scope_name(g.reroute_scope)},
                {"capacity_scope", capacity_scope_name(g.capacity_scope)},
                {"renormalize", g.renormalize}}},
              {"devices", e.devices},
              {"placement", e.placement},
              {"backend", e.backend},
              {"timing", e.timing}};
  if (e.replication.replicas > 0) {  // older readers know no replication
    const ReplicationOptions& o = e.replication;
    out["replication"] = {{"replicas", o.replicas},
                          {"choice", replica_choice_name(o.choice)},
                          {"algorithm", eplb_algorithm_name(o.algorithm)},
                          {"nodes", o.nodes},
                          {"groups", o.groups},
                          {"spread", o.spread},
                          {"calibration_steps", o.calibration_steps}};
    if (!o.calibration_loads.empty()) {
      out["replication"]["calibration_loads"] = o.calibration_loads;
      out["replication"]["calibration_source"] = o.calibration_source;
    }
  }
  return out;
}

namespace {

// Reads one JSON object field by field, naming each by its path ("policies.gamma[1]").
class Reader {
 public:
  Reader(const json& object, std::string where, std::string path)
      : object_(object), where_(std::move(where)), path_(std::move(path)) {
    if (!object_.is_object()) fail(path_.empty() ? "the request" : path_, "must be an object");
  }

  // Refuses fields the reader does not know (a typo must not be silently ignored).
  void only(const std::set<std::string>& known) const {
    for (const auto& [key, value] : object_.items()) {
      if (!known.contains(key)) fail(name(key), "is not a known field");
    }
  }

  bool has(const std::string& key) const { return object_.contains(key); }

  Reader object(const std::string& key) const { return {object_.at(key), where_, name(key)}; }

  std::string text(const std::string& key, std::string fallback) const {
    if (!has(key)) return fallback;
    const json& v = object_.at(key);
    if (!v.is_string()) fail(name(key), "must be a string");
    return v.get<std::string>();
  }

  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = object_.at(key);
    if (!v.is_boolean()) fail(name(key), "must be true or false");
    return v.get<bool>();
  }

  int integer(const std::string& key, int fallback) const {
    if (!has(key)) return fallback;
    return to_int(object_.at(key), name(key));
  }

  std::uint64_t unsigned_integer(const std::string& key, std::uint64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = object_.at(key);
    if (!v.is_number_unsigned()) fail(name(key), "must be a non-negative integer");
    return v.get<std::uint64_t>();
  }

  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    return to_double(object_.at(key), name(key));
  }

  std::vector<int> integers(const std::string& key, std::vector<int> fallback) const {
    if (!has(key)) return fallback;
    std::vector<int> out;
    const json& v = array(key);
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(to_int(v[i], name(key) + "[" + std::to_string(i) + "]"));
    return out;
  }

  std::vector<double> numbers(const std::string& key, std::vector<double> fallback) const {
    if (!has(key)) return fallback;
    std::vector<double> out;
    const json& v = array(key);
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(to_double(v[i], name(key) + "[" + std::to_string(i) + "]"));
    return out;
  }

  std::vector<std::string> texts(const std::string& key, std::vector<std::string> fallback) const {
    if (!has(key)) return fallback;
    std::vector<std::string> out;
    const json& v = array(key);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) fail(name(key) + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }

  const json& raw(const std::string& key) const { return object_.at(key); }

  // Runs `parse` on a value, naming the field in its error.
  template <typename Parse>
  auto named(const std::string& key, Parse parse) const {
    try {
      return parse();
    } catch (const Error& e) {
      fail(name(key), std::string("is not valid: ") + e.what());
    }
  }

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw Error(where_ + ": '" + field + "' " + problem);
  }

 private:
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json& array(const std::string& key) const {
    const json& v = object_.at(key);
    if (!v.is_array()) fail(name(key), "must be an array");
    return v;
  }

  int to_int(const json& v, const std::string& field) const {
    if (!v.is_number_integer()) fail(field, "must be an integer, got " + v.dump());
    const auto n = v.get<long long>();
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
      fail(field, "is out of range: " + v.dump());
    }
    return static_cast<int>(n);
  }

  double to_double(const json& v, const std::string& field) const {
    if (!v.is_number()) fail(field, "must be a number, got " + v.dump());
    return v.get<double>();
  }

  const json& object_;
  std::string where_;
  std::string path_;
};

Experiment read_current(const json& j, const std::string& where) {
  const Experiment d;
  Experiment e;
  const Reader r(j, where, "");
  r.only({"model", "routing", "steps", "repeats", "seed", "policies", "devices", "placement",
          "backend", "timing", "replication"});
  if (r.has("model")) {
    const Reader m = r.object("model");
    m.only({"preset", "spec_file", "scale", "layers", "spec", "weights"});
    e.model.spec_file = m.text("spec_file", d.model.spec_file);
    e.model.preset = m.text("preset", e.model.spec_file.empty() ? d.model.preset : "");
    e.model.scale = m.integer("scale", d.model.scale);
    e.model.layers = m.integers("layers", d.model.layers);
    e.model.weights_dir = m.text("weights", d.model.weights_dir);
    if (m.has("spec")) e.model.spec = spec_from_json(m.raw("spec"), where + ": 'model.spec'");
  }
  if (r.has("routing")) {
    const Reader ro = r.object("routing");
    ro.only({"logits_file", "tokens", "skew", "drift"});
    e.routing.logits_file = ro.text("logits_file", d.routing.logits_file);
    e.routing.tokens = ro.integer("tokens", d.routing.tokens);
    e.routing.skew = ro.number("skew", d.routing.skew);
    e.routing.drift = ro.number("drift", d.routing.drift);
  }
  e.steps = r.integer("steps", d.steps);
  e.repeats = r.integer("repeats", d.repeats);
  e.seed = r.unsigned_integer("seed", d.seed);
  if (r.has("policies")) {
    const Reader p = r.object("policies");
    p.only({"kinds", "gamma", "m", "priority", "reroute_scope", "capacity_scope", "renormalize"});
    PolicyGrid& g = e.policies;
    if (p.has("kinds")) {
      g.kinds.clear();
      for (const auto& name : p.texts("kinds", {}))
        g.kinds.push_back(p.named("kinds", [&] { return parse_policy(name); }));
    }
    g.gammas = p.numbers("gamma", d.policies.gammas);
    g.ms = p.integers("m", d.policies.ms);
    const std::string priority = p.text("priority", priority_name(d.policies.priority));
    g.priority = p.named("priority", [&] { return parse_priority(priority); });
    const std::string reroute =
        p.text("reroute_scope", reroute_scope_name(d.policies.reroute_scope));
    g.reroute_scope = p.named("reroute_scope", [&] { return parse_reroute_scope(reroute); });
    const std::string capacity =
        p.text("capacity_scope", capacity_scope_name(d.policies.capacity_scope));
    g.capacity_scope = p.named("capacity_scope", [&] { return parse_capacity_scope(capacity); });
    g.renormalize = p.flag("renormalize", d.policies.renormalize);
  }
  e.devices = r.integers("devices", d.devices);
  e.placement = r.integers("placement", d.placement);
  e.backend = r.text("backend", d.backend);
  e.timing = r.text("timing", d.timing);
  if (r.has("replication")) {
    const Reader p = r.object("replication");
    p.only({"replicas", "choice", "algorithm", "nodes", "groups", "spread", "calibration_steps",
            "calibration_loads", "calibration_source"});
    ReplicationOptions& o = e.replication;
    o.replicas = p.integer("replicas", 0);
    const std::string choice = p.text("choice", replica_choice_name(o.choice));
    o.choice = p.named("choice", [&] { return parse_replica_choice(choice); });
    const std::string algorithm = p.text("algorithm", eplb_algorithm_name(o.algorithm));
    o.algorithm = p.named("algorithm", [&] { return parse_eplb_algorithm(algorithm); });
    o.nodes = p.integer("nodes", o.nodes);
    o.groups = p.integer("groups", o.groups);
    o.spread = p.flag("spread", o.spread);
    o.calibration_steps = p.integer("calibration_steps", o.calibration_steps);
    o.calibration_source = p.text("calibration_source", "");
    if (p.has("calibration_loads")) {
      const json& rows = p.raw("calibration_loads");
      const std::string at = where + ": 'replication.calibration_loads";
      if (!rows.is_array()) throw Error(at + "' must be a list of per-layer lists");
      for (std::size_t l = 0; l < rows.size(); ++l) {
        if (!rows[l].is_array()) throw Error(at + "[" + std::to_string(l) + "]' must be a list");
        std::vector<double> row;
        for (std::size_t x = 0; x < rows[l].size(); ++x) {
          const json& v = rows[l][x];
          if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>())) {
            throw Error(at + "[" + std::to_string(l) + "][" + std::to_string(x) +
                        "]' must be a token count >= 0, got " + v.dump());
          }
          row.push_back(v.get<double>());
        }
        o.calibration_loads.push_back(std::move(row));
      }
    }
  }
  return e;
}

// Sessions of schema 3 and older stored {model (a spec), policy, tokens, steps, devices,
// placement, backend, seed, routing (a description)} for each run.
Experiment read_legacy(const json& j, const std::string& where) {
  Experiment e;
  const Reader r(j, where, "");
  e.model.preset.clear();
  e.model.spec = spec_from_json(r.raw("model"), where + ": 'model'");
  e.steps = r.integer("steps", e.steps);
  e.seed = r.unsigned_integer("seed", e.seed);
  e.backend = r.text("backend", e.backend);
  e.placement = r.integers("placement", {});
  if (r.has("devices")) e.devices = {r.integer("devices", 1)};
  const std::string routing = r.text("routing", "");
  if (routing.rfind("replay(", 0) == 0 && routing.back() == ')') {
    e.routing.logits_file = routing.substr(7, routing.size() - 8);
  } else if (routing.rfind("synthetic(", 0) == 0) {
    e.routing.tokens = r.integer("tokens", e.routing.tokens);
    const auto skew = routing.find("skew=");
    if (skew != std::string::npos)
      e.routing.skew = std::strtod(routing.c_str() + skew + 5, nullptr);
    const auto drift = routing.find("drift=");
    if (drift != std::string::npos)
      e.routing.drift = std::strtod(routing.c_str() + drift + 6, nullptr);
  } else {
    r.fail("routing", "is not a routing this version knows: '" + routing + "'");
  }
  const Reader p = r.object("policy");
  const std::string kind = p.text("policy", "none");
  const PolicyKind k = p.named("policy", [&] { return parse_policy(kind); });
  PolicyGrid& g = e.policies;
  g.kinds = {k};
  if (k == PolicyKind::kNone) g.kinds.clear();
  g.gammas = {p.number("gamma", 1.0)};
  g.ms = {p.integer("m", 1)};
  const std::string priority = p.text("priority", "score");
  g.priority = p.named("priority", [&] { return parse_priority(priority); });
  const std::string reroute = p.text("reroute_scope", "any");
  g.reroute_scope = p.named("reroute_scope", [&] { return parse_reroute_scope(reroute); });
  const std::string capacity = p.text("capacity_scope", "global");
  g.capacity_scope = p.named("capacity_scope", [&] { return parse_capacity_scope(capacity); });
  g.renormalize = p.flag("renormalize", false);
  return e;
}

}  // namespace

Experiment experiment_from_json(const json& j, const std::string& where) {
  if (j.is_object() && j.contains("policy") && j.contains("routing") && j["routing"].is_string()) {
    return read_legacy(j, where);
  }
  return read_current(j, where);
}

Experiment load_experiment_file(const std::string& path) {
  return experiment_from_json(read_json_file(path, "request"), path);
}

}  // namespace moescope
