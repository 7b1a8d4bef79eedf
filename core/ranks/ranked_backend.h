// Expert parallelism for real: one process (rank) per device, each owning the experts placed on
// its device and the tokens it sources (src(t) = t * D / T). A wrapped backend computes; between
// its stages the ranks exchange rows: dispatch sends each token's hidden state once to every
// rank that has one of its experts (counts first, then one all-to-all-v), each rank runs its
// experts and sums its pairs of each token into one partial sum, and the combine sends the
// partial sums back, where the source adds them in rank order (Backend::has_stages says why
// that gives a single process's bits). Every rank gets the whole output (outside the timers),
// and every rank's spans on rank 0's clock, so all ranks keep the same records.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/exec/backend.h"
#include "core/ranks/clock_alignment.h"
#include "core/ranks/communicator.h"

namespace moescope {

class RankedBackend final : public Backend {
 public:
  // Throws Error when `inner` cannot run a layer's stages apart.
  RankedBackend(std::unique_ptr<Backend> inner, Communicator& comm);

  std::string name() const override { return inner_->name(); }
  std::string describe() const override;
  std::string machine() const override;
  profiler::Timing timing() const override { return profiler::Timing::kMeasured; }
  std::string collector() const override { return "cpu-timer"; }
  void begin_layer(int step, int layer, const Placement& placement) override;
  void check_model(const ModelSpec& spec) const override { inner_->check_model(spec); }
  LayerExecution run_layer(const float* hidden_states, const ExpertWeights& weights,
                           const PolicyOutcome& outcome, const DispatchPlan& plan,
                           const CancelFlag* cancel) override;

  const ClockAlignment& clocks() const { return clocks_; }

 private:
  std::unique_ptr<Backend> inner_;
  Communicator& comm_;
  ClockAlignment clocks_;
  Placement placement_;
  int step_ = 0;
  int layer_ = 0;
  // Reused across layers: fresh buffers of a large layer cost more in page faults than the
  // all-to-all they feed.
  struct Buffers {
    std::vector<float> send, received, rows_in, rows_out, output, partials, back;
    std::vector<std::int64_t> row_of_token;
  } buffers_;
};

}  // namespace moescope
