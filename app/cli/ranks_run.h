// `run --ranks`: this process is one rank of `mpirun -np N`, one device each; rank 0 writes
// the session and prints, the others compute and stay quiet.
#pragma once

#include <string>

#include "core/run/experiment.h"

namespace moescope::cli {

// Thrown by ranks other than 0 when the run is refused: rank 0 alone says why.
struct QuietExit {
  int status = 1;
};

void run_ranks(Experiment experiment, const std::string& session_path, const std::string& format,
               bool per_layer, int threads_per_rank);

}  // namespace moescope::cli
