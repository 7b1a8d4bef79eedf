// The Communicator over MPI (Open MPI from Debian), for ranks in host memory.
#pragma once

#include <memory>

#include "core/ranks/communicator.h"

namespace moescope {

// Starts MPI (once per process) and ends it when the last communicator goes. Throws Error when
// this build has no MPI.
std::unique_ptr<Communicator> make_mpi_communicator();

// True when this build can run ranks over MPI.
bool have_mpi();

}  // namespace moescope
