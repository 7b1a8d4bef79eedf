#include "core/ranks/rank_handshake.h"

#include <vector>

#include "core/base/error.h"

namespace moescope {

void check_same_run(Communicator& comm, const std::string& version, const std::string& run) {
  const std::vector<std::string> versions = comm.all_gather(version);
  for (std::size_t r = 1; r < versions.size(); ++r) {
    if (versions[r] != versions.front()) {
      throw Error("rank " + std::to_string(r) + " runs MoEScope " + versions[r] + ", rank 0 runs " +
                  versions.front() + ": every rank needs the same build");
    }
  }
  const std::vector<std::string> runs = comm.all_gather(run);
  for (std::size_t r = 1; r < runs.size(); ++r) {
    if (runs[r] != runs.front()) {
      throw Error("rank " + std::to_string(r) +
                  " was asked for another run than rank 0 (its experiment, spec or routing "
                  "differs): every rank needs the same command line and the same files");
    }
  }
}

}  // namespace moescope
