// Every rank's clock against rank 0's, so that spans taken on different ranks (or hosts) can
// be drawn on one time axis.
#pragma once

#include <cstdint>

#include "core/ranks/communicator.h"

namespace moescope {

struct ClockAlignment {
  std::int64_t offset_ns = 0;    // this rank's clock minus rank 0's (0 on rank 0)
  std::int64_t residual_ns = 0;  // the largest uncertainty over all ranks: half the best round trip
};

// Ping-pong with each rank in turn, `rounds` times; the round with the shortest round trip
// gives the offset (the reply taken as sent halfway). Collective.
ClockAlignment align_clocks(Communicator& comm, int rounds = 32);

}  // namespace moescope
