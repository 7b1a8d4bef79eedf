#include "core/ranks/clock_alignment.h"

#include <algorithm>
#include <limits>
#include <string>

#include "profiler/cpu_timer.h"

namespace moescope {

ClockAlignment align_clocks(Communicator& comm, int rounds) {
  ClockAlignment mine;
  if (comm.rank() == 0) {
    for (int r = 1; r < comm.size(); ++r) {
      std::int64_t best_trip = std::numeric_limits<std::int64_t>::max();
      std::int64_t offset = 0;
      for (int i = 0; i < rounds; ++i) {
        const std::int64_t sent = profiler::now_ns();
        comm.send_number(r, sent);
        const std::int64_t theirs = comm.receive_number(r);
        const std::int64_t back = profiler::now_ns();
        if (back - sent < best_trip) {
          best_trip = back - sent;
          offset = theirs - (sent + back) / 2;
        }
      }
      comm.send_number(r, offset);
      mine.residual_ns = std::max(mine.residual_ns, best_trip / 2);
    }
  } else {
    for (int i = 0; i < rounds; ++i) {
      (void)comm.receive_number(0);
      comm.send_number(0, profiler::now_ns());
    }
    mine.offset_ns = comm.receive_number(0);
  }
  // Every rank learns the worst residual (rank 0 measured them all).
  const std::vector<std::string> all = comm.all_gather(std::to_string(mine.residual_ns));
  mine.residual_ns = std::stoll(all.front());
  return mine;
}

}  // namespace moescope
