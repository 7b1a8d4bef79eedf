#include "core/ranks/ranked_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/base/error.h"
#include "core/exec/combine_rows.h"
#include "core/moe/routing_math.h"
#include "profiler/cpu_timer.h"

namespace moescope {

namespace {

using profiler::Event;
using profiler::Phase;

// Rank s sources the tokens first[s] .. first[s + 1] - 1 (src(t) = t * D / T is monotonic).
std::vector<std::int64_t> token_blocks(int ranks, std::int64_t tokens) {
  std::vector<std::int64_t> first(static_cast<std::size_t>(ranks) + 1, tokens);
  for (std::int64_t t = tokens - 1; t >= 0; --t)
    first[static_cast<std::size_t>(routing::source_of_token(t, ranks, tokens))] = t;
  for (int s = ranks - 1; s >= 0; --s) {
    const auto u = static_cast<std::size_t>(s);
    first[u] = std::min(first[u], first[u + 1]);
  }
  return first;
}

std::vector<std::int64_t> sizes_of(const std::vector<std::vector<std::int64_t>>& lists) {
  std::vector<std::int64_t> out;
  for (const auto& l : lists)
    out.push_back(static_cast<std::int64_t>(l.size()));
  return out;
}

std::string as_bytes(const void* data, std::size_t bytes) {
  return {static_cast<const char*>(data), bytes};
}

// What each rank tells the others after a layer.
struct RankSummary {
  std::uint64_t pairs = 0;       // fingerprint of the kept pairs it derived
  std::int64_t dispatch_ns = 0;  // its own dispatch work: packing and gathering rows
  std::int64_t combine_ns = 0;   // its own combine work: partial sums and the final sum
};

// FNV-1a over every kept pair's token, expert and weight bits.
std::uint64_t pairs_fingerprint(const std::vector<KeptPair>& kept) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      h ^= static_cast<const unsigned char*>(data)[i];
      h *= 1099511628211ull;
    }
  };
  for (const KeptPair& p : kept) {
    mix(&p.token, sizeof p.token);
    mix(&p.expert, sizeof p.expert);
    mix(&p.weight, sizeof p.weight);
  }
  return h;
}

}  // namespace

RankedBackend::RankedBackend(std::unique_ptr<Backend> inner, Communicator& comm)
    : inner_(std::move(inner)), comm_(comm) {
  if (!inner_->has_stages()) {
    throw Error("the " + inner_->name() +
                " backend cannot run as ranks yet (ranks run on the CPU backend)");
  }
  clocks_ = align_clocks(comm_);
}

std::string RankedBackend::describe() const {
  char residual[32];
  std::snprintf(residual, sizeof residual, "%.1f", static_cast<double>(clocks_.residual_ns) / 1e3);
  return std::to_string(comm_.size()) + " ranks over " + comm_.describe() +
         ", clocks aligned within " + residual + " us; each rank " + inner_->describe();
}

std::string RankedBackend::machine() const {
  return inner_->machine() + ", " + std::to_string(comm_.size()) + " ranks";
}

void RankedBackend::begin_layer(int step, int layer, const Placement& placement) {
  step_ = step;
  layer_ = layer;
  placement_ = placement;
  inner_->begin_layer(step, layer, placement);
}

LayerExecution RankedBackend::run_layer(const float* x, const ExpertWeights& w,
                                        const PolicyOutcome& outcome, const DispatchPlan& plan,
                                        const CancelFlag* cancel) {
  const int N = comm_.size();
  const int me = comm_.rank();
  if (placement_.devices != N) {
    throw Error("the placement has " + std::to_string(placement_.devices) +
                " devices and the run " + std::to_string(N) + " ranks: ranks run one device each");
  }
  if (!plan.group_expert.empty()) {
    throw Error("ranks do not run replicated experts yet");
  }
  const auto H = static_cast<std::size_t>(w.hidden);
  const std::int64_t T = plan.tokens;
  const std::vector<std::int64_t> blocks = token_blocks(N, T);
  const auto& kept = outcome.kept;
  const auto un = static_cast<std::size_t>(N);
  std::vector<Event> spans;
  // This rank's own work (not the transfers or the waiting): what a single process would do of
  // it, for the latency composed from the same run's durations.
  std::int64_t own_dispatch_ns = 0, own_combine_ns = 0;
  auto span = [&](std::int64_t start, Phase phase, int expert, std::int64_t* own_work) {
    spans.push_back({start, profiler::now_ns(), me, 0, step_, layer_, expert, phase});
    if (own_work != nullptr) *own_work += spans.back().duration_ns();
  };

  // Before the clocks: the experts' code and weights ready, and every rank starting together
  // (what happened between layers, the replicated routing and the gathering of the last output,
  // is not this layer's).
  std::vector<int> groups;
  std::vector<std::int64_t> local_first(static_cast<std::size_t>(plan.experts), 0);
  std::int64_t local_rows = 0;
  for (int g = 0; g < plan.experts; ++g) {
    if (placement_.device(g) != me || plan.rows_of(g) == 0) continue;
    groups.push_back(g);
    local_first[static_cast<std::size_t>(g)] = local_rows;
    local_rows += plan.rows_of(g);
  }
  const std::int64_t first = blocks[static_cast<std::size_t>(me)];
  const std::int64_t own = blocks[static_cast<std::size_t>(me) + 1] - first;
  inner_->prepare_stages(w, plan, groups, own);
  comm_.barrier();

  // Dispatch. What each rank sends where follows from the kept pairs, which every rank has.
  std::int64_t start = profiler::now_ns();
  std::vector<std::vector<std::int64_t>> send_tokens(un), recv_tokens(un);
  std::vector<char> needs(un);
  for (std::size_t i = 0; i < kept.size();) {
    const std::int64_t t = kept[i].token;
    std::fill(needs.begin(), needs.end(), 0);
    for (; i < kept.size() && kept[i].token == t; ++i)
      needs[static_cast<std::size_t>(placement_.device(kept[i].expert))] = 1;
    const auto source = static_cast<std::size_t>(routing::source_of_token(t, N, T));
    if (source == static_cast<std::size_t>(me)) {
      for (std::size_t r = 0; r < un; ++r) {
        if (needs[r]) send_tokens[r].push_back(t);
      }
    }
    if (needs[static_cast<std::size_t>(me)]) recv_tokens[source].push_back(t);
  }
  const std::vector<std::int64_t> send_rows = sizes_of(send_tokens);
  const std::vector<std::int64_t> recv_rows = sizes_of(recv_tokens);
  std::int64_t sent = 0, received = 0;
  for (std::size_t r = 0; r < un; ++r) {
    sent += send_rows[r];
    received += recv_rows[r];
  }
  std::vector<float>& send = buffers_.send;
  send.resize(static_cast<std::size_t>(sent) * H);
  std::size_t row = 0;
  for (const auto& tokens : send_tokens) {
    for (std::int64_t t : tokens)
      std::memcpy(&send[row++ * H], x + static_cast<std::size_t>(t) * H, H * sizeof(float));
  }
  span(start, Phase::kDispatch, -1, &own_dispatch_ns);

  start = profiler::now_ns();
  const std::vector<std::int64_t> announced = comm_.exchange_counts(send_rows);
  span(start, Phase::kWait, -1, nullptr);
  for (std::size_t s = 0; s < un; ++s) {
    if (announced[s] != recv_rows[s]) {
      throw Error("rank " + std::to_string(s) + " sends " + std::to_string(announced[s]) +
                  " rows to rank " + std::to_string(me) + ", which expected " +
                  std::to_string(recv_rows[s]) + ": the ranks disagree on the routing");
    }
  }
  start = profiler::now_ns();
  std::vector<float>& received_rows = buffers_.received;
  received_rows.resize(static_cast<std::size_t>(received) * H);
  comm_.exchange_rows(send.data(), send_rows, received_rows.data(), recv_rows, w.hidden);
  span(start, Phase::kDispatch, -1, nullptr);

  // The experts of this rank, each on its rows in the layer plan's order.
  start = profiler::now_ns();
  std::vector<std::int64_t>& row_of_token = buffers_.row_of_token;
  row_of_token.assign(static_cast<std::size_t>(T), -1);
  row = 0;
  for (const auto& tokens : recv_tokens) {
    for (std::int64_t t : tokens)
      row_of_token[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(row++);
  }
  std::vector<float>& rows_in = buffers_.rows_in;
  rows_in.resize(static_cast<std::size_t>(local_rows) * H);
  row = 0;
  for (int g : groups) {
    for (std::int64_t r = plan.offsets[static_cast<std::size_t>(g)];
         r < plan.offsets[static_cast<std::size_t>(g) + 1]; ++r) {
      const std::int64_t from =
          row_of_token[static_cast<std::size_t>(plan.row_token[static_cast<std::size_t>(r)])];
      std::memcpy(&rows_in[row++ * H], &received_rows[static_cast<std::size_t>(from) * H],
                  H * sizeof(float));
    }
  }
  span(start, Phase::kDispatch, -1, &own_dispatch_ns);
  std::vector<float>& rows_out = buffers_.rows_out;
  rows_out.resize(static_cast<std::size_t>(local_rows) * H);
  const std::vector<GroupSpan> group_spans =
      inner_->run_expert_groups(rows_in.data(), w, plan, groups, rows_out.data(), cancel);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    spans.push_back({group_spans[i].start_ns, group_spans[i].end_ns, me, 0, step_, layer_,
                     groups[i], Phase::kExpert});
  }

  // The shared experts of this rank's own tokens.
  std::vector<float>& output = buffers_.output;
  output.assign(static_cast<std::size_t>(own) * H, 0.0f);
  if (w.shared_experts > 0) {
    throw_if_cancelled(cancel);
    start = profiler::now_ns();
    inner_->run_shared_experts(x + static_cast<std::size_t>(first) * H, own, T, w, output.data());
    span(start, Phase::kSharedExpert, -1, nullptr);
  }

  // One partial sum per received token: its pairs here, in outcome order.
  start = profiler::now_ns();
  std::vector<float>& partials = buffers_.partials;
  partials.assign(static_cast<std::size_t>(received) * H, 0.0f);
  auto by_token = [](const KeptPair& p, std::int64_t t) { return p.token < t; };
  row = 0;
  for (const auto& tokens : recv_tokens) {
    for (std::int64_t t : tokens) {
      float* sum = &partials[row++ * H];
      for (auto it = std::lower_bound(kept.begin(), kept.end(), t, by_token);
           it != kept.end() && it->token == t; ++it) {
        if (placement_.device(it->expert) != me) continue;
        const auto pair = static_cast<std::size_t>(it - kept.begin());
        const auto g = static_cast<std::size_t>(it->expert);
        const std::int64_t local = local_first[g] + plan.pair_row[pair] - plan.offsets[g];
        add_scaled_row(sum, it->weight, &rows_out[static_cast<std::size_t>(local) * H], H);
      }
    }
  }
  span(start, Phase::kCombine, -1, &own_combine_ns);

  // Combine: the partial sums back to their tokens' ranks, added there in rank order.
  start = profiler::now_ns();
  const std::vector<std::int64_t> returned = comm_.exchange_counts(recv_rows);
  span(start, Phase::kWait, -1, nullptr);
  if (returned != send_rows) throw Error("the ranks disagree on the combine's rows");
  start = profiler::now_ns();
  std::vector<float>& back = buffers_.back;
  back.resize(static_cast<std::size_t>(sent) * H);
  comm_.exchange_rows(partials.data(), recv_rows, back.data(), send_rows, w.hidden);
  span(start, Phase::kCombine, -1, nullptr);
  start = profiler::now_ns();
  row = 0;
  for (const auto& tokens : send_tokens) {
    for (std::int64_t t : tokens)
      add_row(&output[static_cast<std::size_t>(t - first) * H], &back[row++ * H], H);
  }
  span(start, Phase::kCombine, -1, &own_combine_ns);

  // Outside the timers: the whole output, every rank's spans and own work, and a check that
  // every rank derived the same pairs (the counts above catch most disagreements, not all).
  LayerExecution out;
  const std::vector<std::string> outputs =
      comm_.all_gather(as_bytes(output.data(), output.size() * sizeof(float)));
  out.output.resize(static_cast<std::size_t>(T) * H);
  std::size_t at = 0;
  for (const auto& part : outputs) {
    std::memcpy(reinterpret_cast<char*>(out.output.data()) + at, part.data(), part.size());
    at += part.size();
  }
  for (auto& e : spans) {
    e.start_ns -= clocks_.offset_ns;
    e.end_ns -= clocks_.offset_ns;
  }
  const RankSummary summary{pairs_fingerprint(kept), own_dispatch_ns, own_combine_ns};
  const std::vector<std::string> summaries = comm_.all_gather(as_bytes(&summary, sizeof summary));
  for (std::size_t r = 0; r < summaries.size(); ++r) {
    RankSummary theirs;
    std::memcpy(&theirs, summaries[r].data(), sizeof theirs);
    if (theirs.pairs != summary.pairs) {
      throw Error("rank " + std::to_string(r) + " kept other pairs than rank " +
                  std::to_string(me) + " in layer " + std::to_string(layer_) +
                  ": the ranks' routing or inputs differ (the same files on every host?)");
    }
    out.dispatch_ns += theirs.dispatch_ns;
    out.combine_ns += theirs.combine_ns;
  }
  const std::vector<std::string> all_spans =
      comm_.all_gather(as_bytes(spans.data(), spans.size() * sizeof(Event)));
  for (const auto& part : all_spans) {
    const std::size_t n = part.size() / sizeof(Event);
    const std::size_t before = out.measured_spans.size();
    out.measured_spans.resize(before + n);
    std::memcpy(static_cast<void*>(out.measured_spans.data() + before), part.data(),
                n * sizeof(Event));
  }
  std::int64_t layer_start = INT64_MAX;
  for (const auto& e : out.measured_spans)
    layer_start = std::min(layer_start, e.start_ns);
  out.expert_ns.assign(static_cast<std::size_t>(plan.experts), 0);
  for (auto& e : out.measured_spans) {
    e.start_ns -= layer_start;
    e.end_ns -= layer_start;
    if (e.phase == Phase::kExpert)
      out.expert_ns[static_cast<std::size_t>(e.expert)] += e.duration_ns();
    if (e.phase == Phase::kSharedExpert) out.shared_ns += e.duration_ns();
  }
  return out;
}

}  // namespace moescope
