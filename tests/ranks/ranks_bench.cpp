// The ranks' dispatch and combine against MPI's own all-to-all-v of the same byte counts, side
// by side in one run: `mpirun -np 2 ranks_bench [--tokens T] [--scale S] [--repeats R]`. Each
// repeat times the ranked layer, then one bare MPI_Alltoallv with the dispatch's row counts and
// one with the combine's, each after a barrier. Prints every part of the layer's dispatch and
// combine (the slowest rank's), and the transfers against the bare calls: medians, 95%
// intervals and the ratio of medians, with the CPU and kernels.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/blas.h"
#include "core/exec/cpu_backend.h"
#include "core/exec/onednn_matmul.h"
#include "core/inputs/synthetic_routing.h"
#include "core/model/presets.h"
#include "core/moe/routing_math.h"
#include "core/ranks/mpi_communicator.h"
#include "core/ranks/ranked_backend.h"
#include "core/run/layer_weights.h"
#include "core/run/statistics.h"
#include "profiler/cpu_timer.h"

namespace moescope {
namespace {

using profiler::Phase;

// The spans of one rank's layer besides its experts, in the order they run.
enum Part {
  kPack,
  kCounts,
  kTransfer,
  kGather,
  kPartialSums,
  kCombineWait,
  kCombineTransfer,
  kSum
};
constexpr int kParts = 8;
const char* const kPartNames[kParts] = {"pack",
                                        "counts",
                                        "transfer",
                                        "gather into expert order",
                                        "partial sums",
                                        "combine wait (imbalance)",
                                        "combine transfer",
                                        "sum in rank order"};

std::vector<double> parts_of(const std::vector<profiler::Event>& spans, int rank) {
  std::vector<profiler::Event> mine;
  for (const auto& e : spans) {
    if (e.device == rank && e.phase != Phase::kExpert && e.phase != Phase::kSharedExpert) {
      mine.push_back(e);
    }
  }
  std::sort(mine.begin(), mine.end(),
            [](const auto& a, const auto& b) { return a.start_ns < b.start_ns; });
  std::vector<double> out(kParts, 0);
  for (std::size_t i = 0; i < mine.size() && i < kParts; ++i)
    out[i] = static_cast<double>(mine[i].duration_ns());
  return out;
}

double slowest(double mine) {
  double out = 0;
  MPI_Allreduce(&mine, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return out;
}

double bare_alltoallv(const std::vector<int>& send_rows, const std::vector<int>& recv_rows,
                      MPI_Datatype row, std::vector<float>& send, std::vector<float>& recv) {
  std::vector<int> send_at(send_rows.size(), 0), recv_at(recv_rows.size(), 0);
  for (std::size_t r = 1; r < send_rows.size(); ++r) {
    send_at[r] = send_at[r - 1] + send_rows[r - 1];
    recv_at[r] = recv_at[r - 1] + recv_rows[r - 1];
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const std::int64_t start = profiler::now_ns();
  MPI_Alltoallv(send.data(), send_rows.data(), send_at.data(), row, recv.data(), recv_rows.data(),
                recv_at.data(), row, MPI_COMM_WORLD);
  return slowest(static_cast<double>(profiler::now_ns() - start));
}

void print(const char* what, const std::vector<double>& ours, const std::vector<double>& bare) {
  const Interval a = median_interval(ours), b = median_interval(bare);
  const double ma = lower_median(ours), mb = lower_median(bare);
  std::printf(
      "%-9s ours %8.1f us [%.1f, %.1f]   MPI_Alltoallv %8.1f us [%.1f, %.1f]   ratio %.2fx\n", what,
      ma / 1e3, a.low / 1e3, a.high / 1e3, mb / 1e3, b.low / 1e3, b.high / 1e3, ma / mb);
}

int bench(int argc, char** argv) {
  int tokens = 2048, scale = 8, repeats = 21;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--tokens") tokens = value;
    if (flag == "--scale") scale = value;
    if (flag == "--repeats") repeats = value;
  }
  auto comm = make_mpi_communicator();
  const int N = comm->size(), me = comm->rank();
  blas::set_threads(1);
  set_onednn_threads(1);
  ModelSpec spec = scaled(preset("olmoe-1b-7b"), scale);
  const Placement placement = balanced_placement(spec.experts, N);
  auto source = make_synthetic_routing(spec, {tokens, 0, 0.6});
  LayerWeights weights(spec, 0, "");
  const LayerInput input = source->layer(0, 0);
  const RouterOutput router = route(input.logits.data(), tokens, spec.experts, spec.top_k,
                                    spec.router, input.bias_or_null(), 0);
  const PolicyOutcome outcome = apply_policy(router, PolicyConfig{}, placement);
  const DispatchPlan plan = make_dispatch_plan(outcome, spec.experts, tokens);
  RankedBackend ranks(make_cpu_backend(CpuPrecision::kFp32), *comm);
  ranks.begin_layer(0, 0, placement);

  // The dispatch's row counts, as the ranked layer derives them: a token once per rank.
  std::vector<int> send_rows(static_cast<std::size_t>(N), 0), recv_rows(send_rows);
  for (std::size_t i = 0; i < outcome.kept.size();) {
    const std::int64_t t = outcome.kept[i].token;
    std::vector<char> needs(static_cast<std::size_t>(N), 0);
    for (; i < outcome.kept.size() && outcome.kept[i].token == t; ++i)
      needs[static_cast<std::size_t>(placement.device(outcome.kept[i].expert))] = 1;
    const int source_rank = routing::source_of_token(t, N, tokens);
    for (int r = 0; r < N; ++r) {
      if (!needs[static_cast<std::size_t>(r)]) continue;
      if (source_rank == me) ++send_rows[static_cast<std::size_t>(r)];
      if (r == me) ++recv_rows[static_cast<std::size_t>(source_rank)];
    }
  }
  int sent = 0, received = 0;
  for (int r = 0; r < N; ++r) {
    sent += send_rows[static_cast<std::size_t>(r)];
    received += recv_rows[static_cast<std::size_t>(r)];
  }
  MPI_Datatype row{};
  MPI_Type_contiguous(spec.hidden, MPI_FLOAT, &row);
  MPI_Type_commit(&row);
  std::vector<float> a(static_cast<std::size_t>(std::max(sent, received)) * spec.hidden + 1, 1.0f);
  std::vector<float> b(a.size());

  const ExpertWeights& w = weights.of(0);
  std::vector<std::vector<double>> parts(kParts);
  std::vector<double> bare_dispatch, bare_combine;
  for (int r = -2; r < repeats; ++r) {  // two warm-ups
    MPI_Barrier(MPI_COMM_WORLD);
    const LayerExecution e = ranks.run_layer(input.hidden_states.data(), w, outcome, plan, nullptr);
    const std::vector<double> mine = parts_of(e.measured_spans, me);
    std::vector<double> worst(kParts);
    for (int i = 0; i < kParts; ++i)
      worst[static_cast<std::size_t>(i)] = slowest(mine[static_cast<std::size_t>(i)]);
    const double bd = bare_alltoallv(send_rows, recv_rows, row, a, b);
    const double bc = bare_alltoallv(recv_rows, send_rows, row, a, b);
    if (r < 0) continue;
    for (int i = 0; i < kParts; ++i)
      parts[static_cast<std::size_t>(i)].push_back(worst[static_cast<std::size_t>(i)]);
    bare_dispatch.push_back(bd);
    bare_combine.push_back(bc);
  }
  MPI_Type_free(&row);
  if (me == 0) {
    std::printf("%d ranks (%s), OLMoE layer /%d (H %d, E %d, top-%d), T %d, %d repeats; %s\n", N,
                comm->describe().c_str(), scale, spec.hidden, spec.experts, spec.top_k, tokens,
                repeats, ranks.machine().c_str());
    std::printf("dispatch rows sent by rank 0: %d, received: %d (%.1f MB each way)\n", sent,
                received, sent * spec.hidden * 4.0 / 1e6);
    std::printf("each part: the slowest rank's, median [95%% interval] over the repeats\n");
    for (int i = 0; i < kParts; ++i) {
      const auto& v = parts[static_cast<std::size_t>(i)];
      const Interval in = median_interval(v);
      std::printf("  %-26s %9.1f us [%.1f, %.1f]\n", kPartNames[i], lower_median(v) / 1e3,
                  in.low / 1e3, in.high / 1e3);
    }
    print("dispatch transfer", parts[kTransfer], bare_dispatch);
    print("combine transfer", parts[kCombineTransfer], bare_combine);
  }
  return 0;
}

}  // namespace
}  // namespace moescope

int main(int argc, char** argv) {
  return moescope::bench(argc, argv);
}
