#include "app/cli/ranks_run.h"

#include <sched.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <optional>
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

// Runs `step` on every rank and agrees on its failure: bad input is reported once, by rank 0,
// and no rank is left waiting in a collective for one that gave up.
template <typename Step>
void agreed(Communicator& comm, Step step) {
  std::string failure;
  try {
    step();
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "unknown error";
  }
  agree(comm, failure);
}

std::string joined(const std::vector<int>& values) {
  std::string out;
  for (int v : values)
    out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::vector<std::string>& typed_arguments() {
  static std::vector<std::string> args;
  return args;
}

// A word for /bin/sh: as it is when it holds nothing the shell would read, else single-quoted.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of(
                                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
                                       "OPQRSTUVWXYZ0123456789_-+=/.,:@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The CPUs this process may run on (mpirun binds ranks to cores or sockets).
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

}  // namespace

void remember_command_line(int argc, char** argv) {
  typed_arguments().assign(argv + 1, argv + argc);
}

std::string mpirun_line(Experiment experiment, int ranks, const std::string& hostfile) {
  experiment.devices = {ranks};
  experiment.timing = std::string(profiler::timing_name(profiler::Timing::kMeasured));
  if (experiment.backend == "auto") experiment.backend = "cpu";
  validate(resolve(experiment));
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string line = "mpirun -q -np " + std::to_string(ranks);
  if (!hostfile.empty()) line += " --hostfile " + shell_word(hostfile);
  line += " " + shell_word(n > 0 ? std::string(self, static_cast<std::size_t>(n)) : "moescope-cli");
  const auto& args = typed_arguments();
  bool has_ranks = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--dry-run") continue;
    if (args[i] == "--hostfile") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--hostfile=", 0) == 0) continue;
    has_ranks = has_ranks || args[i] == "--ranks";
    line += " " + shell_word(args[i]);
  }
  return has_ranks ? line : line + " --ranks";
}

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
  agreed(*comm, [&] {
    if (threads_per_rank < 1 || threads_per_rank > 1024) {
      throw Error("--threads-per-rank must be from 1 to 1024, got " +
                  std::to_string(threads_per_rank));
    }
    if (!experiment.devices.empty() && experiment.devices != std::vector<int>{ranks}) {
      throw Error("--devices " + joined(experiment.devices) + " with " + std::to_string(ranks) +
                  " ranks: each rank is one device (leave --devices out)");
    }
    if (experiment.timing == profiler::timing_name(profiler::Timing::kModeled)) {
      throw Error("--ranks measures its timelines; --timing modeled runs without --ranks");
    }
    experiment.devices = {ranks};
    experiment.timing = std::string(profiler::timing_name(profiler::Timing::kMeasured));
    if (experiment.backend == "auto") experiment.backend = "cpu";  // the one with stages, for now
    experiment = resolve(experiment);
    validate(experiment);
    const auto source = make_routing_source(experiment);
    check_run_options(run_options(experiment, ranks), *source);
    // Every rank gets each layer's whole output in one MPI call (counts are int).
    const auto output_bytes = static_cast<std::uint64_t>(source->tokens()) *
                              static_cast<std::uint64_t>(experiment.model.spec->hidden) * 4;
    if (output_bytes > static_cast<std::uint64_t>(INT_MAX)) {
      throw Error("--ranks: a layer's output of " + std::to_string(source->tokens()) +
                  " tokens is beyond what one MPI call gathers (2 GiB); use fewer --tokens");
    }
    inner = make_backend(experiment.backend);
    if (!inner->has_stages()) {
      throw Error(
          "--ranks runs on the CPU backend for now (GPU ranks over NCCL are not built "
          "yet); use --backend cpu or cpu:bf16");
    }
  });
  agreed(*comm, [&] {
    blas::set_threads(threads_per_rank);
    set_onednn_threads(threads_per_rank);
    // Spans travel between ranks as bytes: the same layout is part of the same build.
    check_same_run(*comm,
                   std::string(version()) + ", " + comm->describe() + ", span of " +
                       std::to_string(sizeof(profiler::Event)) + " bytes",
                   experiment_to_json(experiment).dump());
  });
  std::optional<SessionStore> store;
  agreed(*comm, [&] {
    if (me == 0) store.emplace(session_path, SessionStore::Access::kWrite);
  });

  const std::vector<std::string> cpus = comm->all_gather(std::to_string(usable_cpus()));
  const auto cores = static_cast<int>(std::thread::hardware_concurrency());
  if (me == 0 && cores > 0 && ranks * threads_per_rank > cores) {
    std::fprintf(stderr,
                 "warning: %d ranks of %d thread(s) on %d cores: oversubscribed, so the times "
                 "include waiting for a core\n",
                 ranks, threads_per_rank, cores);
  }
  for (std::size_t r = 0; me == 0 && r < cpus.size(); ++r) {
    const int usable = std::stoi(cpus[r]);
    if (usable > 0 && usable < threads_per_rank) {
      std::fprintf(stderr,
                   "warning: rank %zu may run on %d CPU(s) only (mpirun binds ranks to cores) "
                   "but has %d threads: add --bind-to none or --map-by slot:PE=%d to mpirun\n",
                   r, usable, threads_per_rank, threads_per_rank);
      break;
    }
  }
  try {
    RankedBackend backend(std::move(inner), *comm);
    const CancelFlag* cancel = install_interrupt_handler();
    if (me == 0) {
      ProgressLine progress("running " + experiment.model.spec->name + " on " +
                            std::to_string(ranks) + " ranks");
      CostModels cost_models(default_cost_model_path());
      const RecordedExperiment recorded = run_experiment(
          &*store, experiment, backend,
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
