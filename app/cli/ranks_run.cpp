#include "app/cli/ranks_run.h"

#include <cstdio>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/cli/recorded_output.h"
#include "app/cli/terminal.h"
#include "core/base/blas.h"
#include "core/base/error.h"
#include "core/base/version.h"
#include "core/exec/backend_registry.h"
#include "core/exec/onednn_matmul.h"
#include "core/ranks/launcher.h"
#include "core/ranks/mpi_communicator.h"
#include "core/ranks/rank_handshake.h"
#include "core/ranks/ranked_backend.h"
#include "core/run/cost_model_file.h"
#include "core/run/experiment_json.h"
#include "core/session/record_experiment.h"

namespace moescope::cli {

namespace {

// Every rank learns whether any rank failed; rank 0 reports the first failure (its own, or
// "rank r: ..."), the others leave quietly. Collective.
void agree(Communicator& comm, const std::string& failure) {
  const std::vector<std::string> all = comm.all_gather(failure);
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    if (comm.rank() != 0) throw QuietExit{1};
    throw Error(r == 0 ? all[r] : "rank " + std::to_string(r) + ": " + all[r]);
  }
}

}  // namespace

void run_ranks(Experiment experiment, const std::string& session_path, const std::string& format,
               bool per_layer, int threads_per_rank) {
  if (!launched_by_mpi()) {
    throw Error(
        "--ranks runs as one process per device under an MPI launcher: mpirun -np 2 "
        "moescope-cli run ... --ranks");
  }
  const auto comm = make_mpi_communicator();
  const int ranks = comm->size();
  const int me = comm->rank();

  std::unique_ptr<Backend> inner;
  std::string failure;
  try {
    if (threads_per_rank < 1 || threads_per_rank > 1024) {
      throw Error("--threads-per-rank must be from 1 to 1024, got " +
                  std::to_string(threads_per_rank));
    }
    if (!experiment.devices.empty() && experiment.devices != std::vector<int>{ranks}) {
      throw Error("--devices " + std::to_string(experiment.devices.front()) + " with " +
                  std::to_string(ranks) + " ranks: each rank is one device (leave --devices out)");
    }
    experiment.devices = {ranks};
    experiment.timing = std::string(profiler::timing_name(profiler::Timing::kMeasured));
    if (experiment.backend == "auto") experiment.backend = "cpu";  // the one with stages, for now
    experiment = resolve(experiment);
    validate(experiment);
    inner = make_backend(experiment.backend);
    if (!inner->has_stages()) {
      throw Error(
          "--ranks runs on the CPU backend for now (GPU ranks over NCCL are not built "
          "yet); use --backend cpu or cpu:bf16");
    }
  } catch (const Error& e) {
    failure = e.what();
  }
  agree(*comm, failure);
  blas::set_threads(threads_per_rank);
  set_onednn_threads(threads_per_rank);
  try {
    check_same_run(*comm, version(), experiment_to_json(experiment).dump());
    failure.clear();
  } catch (const Error& e) {
    failure = e.what();
  }
  agree(*comm, failure);

  const auto cores = static_cast<int>(std::thread::hardware_concurrency());
  if (me == 0 && cores > 0 && ranks * threads_per_rank > cores) {
    std::fprintf(stderr,
                 "warning: %d ranks of %d thread(s) on %d cores: oversubscribed, so the times "
                 "include waiting for a core\n",
                 ranks, threads_per_rank, cores);
  }
  try {
    RankedBackend backend(std::move(inner), *comm);
    const CancelFlag* cancel = install_interrupt_handler();
    if (me == 0) {
      SessionStore store(session_path, SessionStore::Access::kWrite);
      ProgressLine progress("running " + experiment.model.spec->name + " on " +
                            std::to_string(ranks) + " ranks");
      CostModels cost_models(default_cost_model_path());
      const RecordedExperiment recorded = run_experiment(
          &store, experiment, backend,
          [&](std::int64_t done, std::int64_t total) { progress.update(done, total); }, cancel,
          &cost_models);
      print_recorded(std::cout, recorded, format, per_layer);
      std::cout.flush();
    } else {
      (void)run_experiment(nullptr, experiment, backend, nullptr, cancel, nullptr);
    }
  } catch (const Cancelled&) {
    std::fprintf(stderr, "rank %d of %d: interrupted; every rank stops\n", me, ranks);
    comm->abort(130);
  } catch (const std::exception& e) {
    // The other ranks wait in a collective for this one: end them all.
    std::fprintf(stderr, "error (rank %d of %d): %s\n", me, ranks, e.what());
    comm->abort(1);
  }
}

}  // namespace moescope::cli
