// A run's expert loads as a dense cube [step][layer][expert] for each kind of load, with the
// layers-by-experts means precomputed, so that switching what the heatmap shows costs a copy
// of one small grid, not a pass over every step.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/session/session_store.h"

namespace moescope::viewdata {

enum class LoadKind { kRouted, kKept, kDropped, kAdded };
inline constexpr int kLoadKindCount = 4;
std::string_view load_kind_label(LoadKind kind);  // "Routed", "Kept", ...

// Rows by columns of doubles, row-major.
struct Grid {
  int rows = 0;
  int cols = 0;
  std::vector<double> values;
  double at(int row, int col) const {
    return values[static_cast<std::size_t>(row) * static_cast<std::size_t>(cols) +
                  static_cast<std::size_t>(col)];
  }
};

class LoadCube {
 public:
  LoadCube() = default;
  // `layer_ids` are the model's layer numbers (a run may use a subset of the layers).
  LoadCube(int steps, std::vector<int> layer_ids, int experts);

  // Throws Error when the rows are not one full grid (a missing or repeated cell).
  static LoadCube from_rows(const std::vector<ExpertLoadRow>& rows);
  // A replicated run's physical slots as the columns: each slot's rows are its routed and kept
  // load (nothing is dropped or added per slot). Throws Error like from_rows.
  static LoadCube from_slot_rows(const std::vector<ReplicaSlotRow>& rows);

  int steps() const { return steps_; }
  int layer_count() const { return static_cast<int>(layer_ids_.size()); }
  int experts() const { return experts_; }
  const std::vector<int>& layer_ids() const { return layer_ids_; }
  int layer_index(int layer_id) const;  // -1 when the run has no such layer
  bool empty() const { return steps_ == 0 || layer_ids_.empty() || experts_ == 0; }

  // Which device holds each expert (from the stored rows); all 0 when unknown.
  const std::vector<int>& device_of_expert() const { return device_of_expert_; }
  void set_device(int expert, int device);

  void set(int step, int layer_index, int expert, LoadKind kind, std::int32_t value);
  std::int32_t value(int step, int layer_index, int expert, LoadKind kind) const;
  // Call after the last set(): computes the per-layer means over steps.
  void finish();

  // Layers x experts, the mean over steps. `normalized` divides each cell by the mean of its
  // row (the load a perfectly balanced router would give every expert), so 1 is balanced.
  Grid layer_grid(LoadKind kind, bool normalized) const;
  // Steps x experts for one layer.
  Grid step_grid(int layer_index, LoadKind kind, bool normalized) const;
  // The mean over steps of one cell.
  double mean_over_steps(int layer_index, int expert, LoadKind kind) const;

 private:
  std::size_t offset(int step, int layer_index, int expert) const;

  int steps_ = 0;
  std::vector<int> layer_ids_;
  int experts_ = 0;
  std::vector<int> device_of_expert_;
  std::vector<std::int32_t> values_[kLoadKindCount];  // [step][layer][expert]
  std::vector<double> layer_means_[kLoadKindCount];   // [layer][expert]
};

// Divides every cell by the mean of its row; a row whose mean is 0 stays 0.
void normalize_rows(Grid& grid);

}  // namespace moescope::viewdata
