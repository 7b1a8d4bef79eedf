#include "core/ranks/mpi_communicator.h"

#include "core/base/error.h"

#if MOESCOPE_HAVE_MPI

#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <utility>

namespace moescope {

namespace {

// MPI's counts are int: a layer's rows per rank stay far below, but a crafted size must not wrap.
int as_count(std::int64_t n, const char* what) {
  if (n < 0 || n > INT_MAX) {
    throw Error(std::string("ranks: ") + what + " of " + std::to_string(n) +
                " is beyond what one MPI call moves (2^31 - 1); use fewer --tokens");
  }
  return static_cast<int>(n);
}

std::vector<int> displacements(const std::vector<int>& counts) {
  std::vector<int> out(counts.size(), 0);
  std::int64_t at = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    out[i] = as_count(at, "an offset");
    at += counts[i];
  }
  as_count(at, "a total");
  return out;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int started = 0;
    MPI_Initialized(&started);
    if (!started) MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }

  ~MpiCommunicator() override {
    for (auto& [floats, type] : row_types_)
      MPI_Type_free(&type);
    int ended = 0;
    MPI_Finalized(&ended);
    if (!ended) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::string describe() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, static_cast<std::size_t>(length));
    // "Open MPI v4.1.4, package: Debian OpenMPI, ..." -> "Open MPI v4.1.4"
    const auto cut = text.find_first_of(",\n");
    return cut == std::string::npos ? text : text.substr(0, cut);
  }

  std::vector<std::int64_t> exchange_counts(const std::vector<std::int64_t>& send) override {
    std::vector<std::int64_t> recv(static_cast<std::size_t>(size_));
    MPI_Alltoall(send.data(), 1, MPI_INT64_T, recv.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
    return recv;
  }

  void exchange_rows(const float* send, const std::vector<std::int64_t>& send_rows, float* recv,
                     const std::vector<std::int64_t>& recv_rows, int row_floats) override {
    std::vector<int> send_counts, recv_counts;
    for (auto n : send_rows)
      send_counts.push_back(as_count(n, "rows sent"));
    for (auto n : recv_rows)
      recv_counts.push_back(as_count(n, "rows received"));
    const std::vector<int> send_at = displacements(send_counts);
    const std::vector<int> recv_at = displacements(recv_counts);
    const MPI_Datatype row = row_type(row_floats);
    MPI_Alltoallv(send, send_counts.data(), send_at.data(), row, recv, recv_counts.data(),
                  recv_at.data(), row, MPI_COMM_WORLD);
  }

  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

  std::vector<std::string> all_gather(const std::string& mine) override {
    const auto n = static_cast<std::size_t>(size_);
    std::vector<std::int64_t> sizes(n);
    const auto my_size = static_cast<std::int64_t>(mine.size());
    MPI_Allgather(&my_size, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
    std::vector<int> counts;
    for (auto s : sizes)
      counts.push_back(as_count(s, "bytes gathered"));
    const std::vector<int> at = displacements(counts);
    std::string all(static_cast<std::size_t>(at.back()) + static_cast<std::size_t>(counts.back()),
                    '\0');
    MPI_Allgatherv(mine.data(), counts[static_cast<std::size_t>(rank_)], MPI_BYTE, all.data(),
                   counts.data(), at.data(), MPI_BYTE, MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (std::size_t r = 0; r < n; ++r)
      out.push_back(
          all.substr(static_cast<std::size_t>(at[r]), static_cast<std::size_t>(counts[r])));
    return out;
  }

  void send_number(int to, std::int64_t value) override {
    MPI_Send(&value, 1, MPI_INT64_T, to, kNumberTag, MPI_COMM_WORLD);
  }

  std::int64_t receive_number(int from) override {
    std::int64_t value = 0;
    MPI_Recv(&value, 1, MPI_INT64_T, from, kNumberTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return value;
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

 private:
  static constexpr int kNumberTag = 7;

  // One contiguous type per row width, so that counts are rows, not floats.
  MPI_Datatype row_type(int floats) {
    for (auto& [width, type] : row_types_) {
      if (width == floats) return type;
    }
    MPI_Datatype type{};
    MPI_Type_contiguous(floats, MPI_FLOAT, &type);
    MPI_Type_commit(&type);
    row_types_.emplace_back(floats, type);
    return type;
  }

  int rank_ = 0;
  int size_ = 1;
  std::vector<std::pair<int, MPI_Datatype>> row_types_;
};

}  // namespace

bool have_mpi() {
  return true;
}

std::unique_ptr<Communicator> make_mpi_communicator() {
  return std::make_unique<MpiCommunicator>();
}

}  // namespace moescope

#else

namespace moescope {

bool have_mpi() {
  return false;
}

std::unique_ptr<Communicator> make_mpi_communicator() {
  throw Error(
      "this build of MoEScope has no MPI: install Open MPI (Debian: libopenmpi-dev openmpi-bin) "
      "and configure with -DMOESCOPE_MPI=ON");
}

}  // namespace moescope

#endif
