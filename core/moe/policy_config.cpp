#include "core/moe/policy_config.h"

#include <cmath>
#include <sstream>

#include "core/base/error.h"
#include "core/base/named_values.h"

namespace moescope {

namespace {

constexpr NamedValue<PolicyKind> kPolicies[] = {{"none", PolicyKind::kNone},
                                                {"drop", PolicyKind::kDrop},
                                                {"expanded", PolicyKind::kExpanded},
                                                {"reroute", PolicyKind::kReroute}};
constexpr NamedValue<DropPriority> kPriorities[] = {{"score", DropPriority::kScore},
                                                    {"position", DropPriority::kPosition},
                                                    {"random", DropPriority::kRandom}};
constexpr NamedValue<RerouteScope> kRerouteScopes[] = {{"any", RerouteScope::kAny},
                                                       {"local", RerouteScope::kLocal}};
constexpr NamedValue<CapacityScope> kCapacityScopes[] = {{"global", CapacityScope::kGlobal},
                                                         {"source", CapacityScope::kSource},
                                                         {"device", CapacityScope::kDevice}};

}  // namespace

std::string policy_name(PolicyKind kind) {
  return name_of(kind, kPolicies);
}
PolicyKind parse_policy(const std::string& name) {
  return parse_named(name, kPolicies, "policy");
}
std::string priority_name(DropPriority p) {
  return name_of(p, kPriorities);
}
DropPriority parse_priority(const std::string& name) {
  return parse_named(name, kPriorities, "drop priority");
}
std::string reroute_scope_name(RerouteScope s) {
  return name_of(s, kRerouteScopes);
}
RerouteScope parse_reroute_scope(const std::string& name) {
  return parse_named(name, kRerouteScopes, "reroute scope");
}
std::string capacity_scope_name(CapacityScope s) {
  return name_of(s, kCapacityScopes);
}
CapacityScope parse_capacity_scope(const std::string& name) {
  return parse_named(name, kCapacityScopes, "capacity scope");
}

std::string policy_label(const PolicyConfig& config) {
  if (config.kind == PolicyKind::kNone) return config.replicated ? "replicate" : "none";
  std::ostringstream out;
  out << policy_name(config.kind) << "(gamma=" << config.gamma;
  if (config.kind == PolicyKind::kDrop && config.priority != DropPriority::kScore) {
    out << "," << priority_name(config.priority);
  }
  if (config.kind == PolicyKind::kExpanded) out << ",m=" << config.m;
  if (config.kind == PolicyKind::kReroute && config.reroute_scope == RerouteScope::kLocal) {
    out << ",local";
  }
  if (config.capacity_scope == CapacityScope::kSource) out << ",per-source";
  if (config.capacity_scope == CapacityScope::kDevice) out << ",per-device";
  if (config.renormalize) out << ",renorm";
  out << ")";
  if (config.replicated) out << "+replicas";
  return out.str();
}

void validate(const PolicyConfig& config) {
  if (config.kind != PolicyKind::kNone && !(std::isfinite(config.gamma) && config.gamma > 0)) {
    std::ostringstream v;
    v << config.gamma;
    throw Error("gamma must be a finite number > 0, got " + v.str());
  }
  if (config.m < 0) throw Error("m must be >= 0, got " + std::to_string(config.m));
}

}  // namespace moescope
