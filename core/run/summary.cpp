#include "core/run/summary.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/base/error.h"
#include "core/run/metric_table.h"

namespace moescope {

bool RunSummary::has(std::string_view key) const {
  return stats.find(key) != stats.end();
}

const Stat& RunSummary::stat(std::string_view key) const {
  const auto it = stats.find(key);
  if (it == stats.end())
    throw Error("the summary of " + label + " has no metric '" + std::string(key) + "'");
  return it->second;
}

namespace {

Stat stat_of(const std::vector<LayerRecord>& records, double (*of_layer)(const LayerRecord&)) {
  Stat s;
  if (records.empty()) return s;
  double sum = 0.0;
  s.max = of_layer(records.front());
  for (const auto& r : records) {
    const double v = of_layer(r);
    sum += v;
    s.max = std::max(s.max, v);
  }
  s.mean = sum / static_cast<double>(records.size());
  return s;
}

}  // namespace

namespace {

// A fixed seed: the same repeats always give the same interval.
constexpr std::uint64_t kBootstrapSeed = 0x5EEDB007;

std::vector<PairedLayer> latency_samples(const PolicyRun& run, const PolicyRun& baseline) {
  std::vector<PairedLayer> out;
  for (std::size_t i = 0; i < run.records.size(); ++i) {
    const auto& own = run.records[i].repeat_latency_ns;
    PairedLayer layer;
    layer.run.assign(own.begin(), own.end());
    if (i < baseline.records.size()) {
      const auto& base = baseline.records[i].repeat_latency_ns;
      layer.baseline.assign(base.begin(), base.end());
    }
    if (!layer.run.empty()) out.push_back(std::move(layer));
  }
  return out;
}

}  // namespace

bool significant(const Stat& speedup) {
  return speedup.interval && !speedup.interval->contains(1.0);
}

bool same_work_as_baseline(const PolicyRun& run) {
  return !run.records.empty() &&
         std::all_of(run.records.begin(), run.records.end(),
                     [](const LayerRecord& r) { return r.same_work_as_baseline; });
}

RunSummary summarize(const PolicyRun& run, const PolicyRun& baseline) {
  RunSummary s;
  s.label = policy_label(run.config);
  const MetricInfo& latency = metric_info("latency_ns");
  const std::vector<PairedLayer> samples = latency_samples(run, baseline);
  const bool timed = samples.size() == run.records.size() && !samples.empty();
  for (const MetricInfo& m : metric_table()) {
    switch (m.aggregation) {
      case Aggregation::kMeanAndMax: {
        if (std::any_of(run.records.begin(), run.records.end(),
                        [&](const LayerRecord& r) { return std::isnan(m.of_layer(r)); })) {
          break;  // a figure this run does not have
        }
        Stat stat = stat_of(run.records, m.of_layer);
        // The composed latency's spread comes from its repeats; a modeled one has none.
        const bool composed = m.key == "composed_latency_ns" ||
                              (m.key == "latency_ns" && !run.records.front().modeled);
        if (composed && timed) stat.interval = mean_of_medians_interval(samples, kBootstrapSeed);
        s.stats[std::string(m.key)] = stat;
        break;
      }
      case Aggregation::kRatioOfMeanLatency: {
        const double own = stat_of(run.records, latency.of_layer).mean;
        const double base = stat_of(baseline.records, latency.of_layer).mean;
        Stat stat;
        stat.mean = stat.max = own > 0 ? base / own : 1.0;
        const bool paired = timed && std::all_of(samples.begin(), samples.end(), [](const auto& l) {
                              return l.baseline.size() == l.run.size();
                            });
        if (same_work_as_baseline(run)) {
          stat.interval = Interval{1.0, 1.0, 1.0};  // the same work: exactly the baseline
        } else if (paired && !run.records.front().modeled) {
          stat.interval = ratio_of_means_interval(samples, kBootstrapSeed);
        }
        s.stats[std::string(m.key)] = stat;
        break;
      }
    }
  }
  return s;
}

std::vector<LayerSummary> summarize_layers(const PolicyRun& run) {
  std::map<int, std::vector<const LayerRecord*>> by_layer;
  for (const auto& r : run.records)
    by_layer[r.layer].push_back(&r);
  std::vector<LayerSummary> out;
  for (const auto& [layer, records] : by_layer) {
    LayerSummary s;
    s.layer = layer;
    const double n = static_cast<double>(records.size());
    const std::size_t E = records.front()->load.routed_load.size();
    s.routed_load.assign(E, 0.0);
    s.kept_load.assign(E, 0.0);
    for (const auto* r : records) {
      s.latency_ns += static_cast<double>(r->timeline.latency_ns) / n;
      s.composed_latency_ns += static_cast<double>(r->composed_latency_ns) / n;
      if (r->modeled_latency_ns) {
        s.modeled_latency_ns =
            s.modeled_latency_ns.value_or(0) + static_cast<double>(*r->modeled_latency_ns) / n;
      }
      s.imbalance_routed += r->load.imbalance_routed / n;
      s.imbalance_kept += r->load.imbalance_kept / n;
      s.drop_rate += r->load.drop_rate / n;
      s.lost_pairs += r->load.lost_pairs / n;
      s.output_error += r->output_error / n;
      s.straggler_margin_ns += static_cast<double>(r->timeline.straggler_margin_ns) / n;
      for (std::size_t e = 0; e < E; ++e) {
        s.routed_load[e] += static_cast<double>(r->load.routed_load[e]) / n;
        s.kept_load[e] += static_cast<double>(r->load.kept_load[e]) / n;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<DeviceSummary> summarize_devices(const PolicyRun& run, const Placement& placement) {
  std::vector<DeviceSummary> out(static_cast<std::size_t>(placement.devices));
  const double n = static_cast<double>(std::max<std::size_t>(run.records.size(), 1));
  // Per device, expert -> its share (on replicas, the expert's slots on that device; the slots
  // of a layer's plan differ from layer to layer).
  std::vector<std::map<int, DeviceSummary::ExpertShare>> shares(out.size());
  for (int d = 0; d < placement.devices; ++d) {
    out[static_cast<std::size_t>(d)].device = d;
    if (run.records.empty() || run.records.front().slot_expert.empty()) {
      for (int e : placement.experts_on(d))
        shares[static_cast<std::size_t>(d)][e] = {e, 0.0, 0.0};
    }
  }
  for (const auto& r : run.records) {
    out[static_cast<std::size_t>(r.timeline.straggler_device)].straggler_share += 1.0 / n;
    for (auto& dev : out) {
      dev.busy_ns +=
          static_cast<double>(r.timeline.device_busy_ns[static_cast<std::size_t>(dev.device)]) / n;
    }
    if (r.slot_expert.empty()) {
      for (auto& device_shares : shares) {
        for (auto& [e, share] : device_shares) {
          share.rows += static_cast<double>(r.load.kept_load[static_cast<std::size_t>(e)]) / n;
          share.ns += static_cast<double>(r.expert_ns[static_cast<std::size_t>(e)]) / n;
        }
      }
      continue;
    }
    const std::size_t per_device = r.slot_expert.size() / out.size();
    for (std::size_t s = 0; s < r.slot_expert.size(); ++s) {
      auto& share = shares[s / per_device][r.slot_expert[s]];
      share.expert = r.slot_expert[s];
      share.rows += static_cast<double>(r.slot_rows[s]) / n;
      share.ns += static_cast<double>(r.slot_ns[s]) / n;
    }
  }
  for (std::size_t d = 0; d < out.size(); ++d) {
    for (const auto& [e, share] : shares[d])
      out[d].experts.push_back(share);
  }
  return out;
}

}  // namespace moescope
