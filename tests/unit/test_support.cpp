#include "tests/unit/test_support.h"

#include "core/base/error.h"
#include "core/base/random.h"
#include "core/moe/routing_math.h"

namespace moescope::test {

RouterOutput router_from_probs(int tokens, int experts, int top_k, std::vector<float> probs,
                               bool norm_topk_prob) {
  RouterOutput r;
  r.tokens = tokens;
  r.experts = experts;
  r.top_k = top_k;
  r.norm_topk_prob = norm_topk_prob;
  r.probs = std::move(probs);
  r.topk_experts.resize(static_cast<std::size_t>(tokens * top_k));
  r.topk_sum.resize(static_cast<std::size_t>(tokens));
  std::vector<float> best(static_cast<std::size_t>(top_k));
  for (int t = 0; t < tokens; ++t) {
    routing::top_k_row(&r.probs[static_cast<std::size_t>(t * experts)], experts, top_k,
                       &r.topk_experts[static_cast<std::size_t>(t * top_k)], best.data());
    float sum = 0;
    for (float b : best)
      sum += b;
    r.topk_sum[static_cast<std::size_t>(t)] = sum;
  }
  return r;
}

std::vector<float> top1_probs(const std::vector<int>& top, const std::vector<float>& score,
                              int experts) {
  std::vector<float> p(top.size() * static_cast<std::size_t>(experts));
  for (std::size_t t = 0; t < top.size(); ++t) {
    for (int e = 0; e < experts; ++e) {
      p[t * static_cast<std::size_t>(experts) + static_cast<std::size_t>(e)] =
          e == top[t] ? score[t] : (1.0f - score[t]) / static_cast<float>(experts - 1);
    }
  }
  return p;
}

std::vector<float> random_logits(int tokens, int experts, double skew, std::uint64_t seed) {
  Rng rng({seed, 77});
  std::vector<double> bias(static_cast<std::size_t>(experts));
  for (auto& b : bias)
    b = skew * rng.normal();
  std::vector<float> z(static_cast<std::size_t>(tokens) * static_cast<std::size_t>(experts));
  for (std::size_t i = 0; i < z.size(); ++i) {
    z[i] = static_cast<float>(rng.normal() + bias[i % static_cast<std::size_t>(experts)]);
  }
  return z;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<LayerStatRow> without_times(std::vector<LayerStatRow> rows) {
  for (auto& r : rows) {
    r.latency_ns = r.dispatch_ns = r.expert_phase_ns = r.combine_ns = 0;
    r.latency_low_ns = r.latency_high_ns = r.composed_latency_ns = 0;
    r.modeled_latency_ns.reset();
    r.repeats = 0;
    r.straggler_margin_ns = r.gating_ns = r.policy_ns = 0;
    r.straggler_device = 0;
    r.straggler_expert = -1;
  }
  return rows;
}

std::vector<ExpertLoadRow> without_times(std::vector<ExpertLoadRow> rows) {
  for (auto& r : rows)
    r.compute_ns = 0;
  return rows;
}

}  // namespace moescope::test

namespace moescope {

void PrintTo(const LayerStatRow& r, std::ostream* out) {
  *out << "{step " << r.step << ", layer " << r.layer << ", latency " << r.latency_ns
       << ", imbalance " << r.imbalance_routed << "/" << r.imbalance_kept << ", balancedness "
       << r.balancedness_routed << "/" << r.balancedness_kept << ", drop " << r.drop_rate
       << ", fully dropped " << r.tokens_fully_dropped << ", added " << r.added_pairs
       << ", gate mass " << r.gate_mass_kept << ", output error " << r.output_error
       << ", straggler " << r.straggler_device << "/" << r.straggler_expert << ", capacity [";
  for (auto c : r.capacity)
    *out << c << " ";
  *out << "]}";
}

void PrintTo(const ExpertLoadRow& r, std::ostream* out) {
  *out << "{step " << r.step << ", layer " << r.layer << ", expert " << r.expert << ", device "
       << r.device << ", routed " << r.routed << ", kept " << r.kept << ", dropped " << r.dropped
       << ", added " << r.added << ", compute " << r.compute_ns << "}";
}

}  // namespace moescope
