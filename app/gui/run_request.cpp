#include "app/gui/run_request.h"

#include <algorithm>
#include <charconv>

#include "core/base/error.h"
#include "core/inputs/replay_routing.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/model_spec.h"
#include "core/model/presets.h"
#include "core/model/spec_json.h"

namespace moescope::gui {

RunOptions make_run_options(const RunRequest& request) {
  ModelSpec spec =
      request.spec_file.empty() ? preset(request.preset) : load_spec_file(request.spec_file);
  spec = scaled(spec, request.scale);
  RunOptions options;
  options.spec = spec;
  options.steps = request.steps;
  options.devices = request.devices;
  options.placement = request.placement;
  options.backend = request.backend;
  options.seed = request.seed;
  if (request.compare) {
    for (auto kind : {PolicyKind::kDrop, PolicyKind::kExpanded, PolicyKind::kReroute}) {
      PolicyConfig c = request.policy;
      c.kind = kind;
      c.m = std::max(c.m, kind == PolicyKind::kExpanded ? 1 : 0);
      validate(c);
      options.policies.push_back(c);
    }
  } else {
    validate(request.policy);
    options.policies.push_back(request.policy);
  }
  return options;
}

std::unique_ptr<RoutingSource> make_routing(const RunRequest& request, const ModelSpec& spec) {
  if (request.replay) {
    if (request.logits_file.empty())
      throw Error("routing: choose a router-logits file (.safetensors) or use synthetic routing");
    return make_replay_routing(spec, request.logits_file, request.seed);
  }
  return make_synthetic_routing(spec, {request.tokens, request.seed, request.skew});
}

RunRequest demo_request(const std::string& session_path) {
  RunRequest r;
  r.session_path = session_path;
  r.preset = "olmoe-1b-7b";
  r.scale = 16;
  r.tokens = 512;
  r.steps = 2;
  r.compare = true;
  r.policy.kind = PolicyKind::kDrop;
  r.policy.gamma = 1.0;
  r.policy.m = 1;
  r.devices = 8;
  return r;
}

std::vector<int> parse_placement(const std::string& text) {
  std::vector<int> out;
  std::size_t pos = 0;
  const auto trimmed_end = text.find_last_not_of(" \t");
  if (trimmed_end == std::string::npos) return out;
  while (pos <= trimmed_end) {
    auto comma = text.find(',', pos);
    if (comma == std::string::npos || comma > trimmed_end) comma = trimmed_end + 1;
    std::string item = text.substr(pos, comma - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || value < 0) {
      throw Error("placement: item " + std::to_string(out.size() + 1) + " ('" + item +
                  "') is not a device number; write one device per expert, e.g. 0,0,1,1");
    }
    out.push_back(value);
    pos = comma + 1;
  }
  return out;
}

}  // namespace moescope::gui
