// Whether this process was started by an MPI launcher (mpirun, mpiexec, srun), which ranks need.
#pragma once

namespace moescope {

// True when the environment carries a launcher's rank variables (Open MPI's, PMI's or PMIx's).
bool launched_by_mpi();

}  // namespace moescope
