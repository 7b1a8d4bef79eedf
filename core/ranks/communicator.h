// How ranks talk: the few collectives an expert-parallel layer needs, over an existing engine
// (MPI here; NCCL for device memory later). Every call is collective unless it says otherwise:
// every rank makes it, in the same order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // The library and version, e.g. "Open MPI v4.1.4".
  virtual std::string describe() const = 0;

  // All-to-all of one count per rank: send[r] goes to rank r; returns what each rank sent here.
  virtual std::vector<std::int64_t> exchange_counts(const std::vector<std::int64_t>& send) = 0;
  // All-to-all-v of rows of `row_floats` floats: send_rows[r] rows (consecutive in `send`, in
  // rank order) go to rank r; recv_rows[r] rows come from rank r into `recv`, in rank order.
  virtual void exchange_rows(const float* send, const std::vector<std::int64_t>& send_rows,
                             float* recv, const std::vector<std::int64_t>& recv_rows,
                             int row_floats) = 0;
  // Returns when every rank has called it.
  virtual void barrier() = 0;
  // Every rank's bytes, in rank order.
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;

  // Point to point (not collective): one number to or from one rank.
  virtual void send_number(int to, std::int64_t value) = 0;
  virtual std::int64_t receive_number(int from) = 0;

  // Ends every rank of the run at once (a rank that cannot go on would leave the others waiting
  // in a collective). Not collective.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

}  // namespace moescope
