// Before ranks run anything together: the same MoEScope and the same run on every rank.
#pragma once

#include <string>

#include "core/ranks/communicator.h"

namespace moescope {

// Throws Error on every rank, naming the first rank that differs from rank 0 and what differs,
// when any rank has another `version` or `run` (the resolved experiment, as JSON). Collective.
void check_same_run(Communicator& comm, const std::string& version, const std::string& run);

}  // namespace moescope
