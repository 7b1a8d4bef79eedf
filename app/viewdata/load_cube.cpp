#include "app/viewdata/load_cube.h"

#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include "core/base/error.h"

namespace moescope::viewdata {

std::string_view load_kind_label(LoadKind kind) {
  switch (kind) {
    case LoadKind::kRouted:
      return "Routed";
    case LoadKind::kKept:
      return "Kept";
    case LoadKind::kDropped:
      return "Dropped";
    case LoadKind::kAdded:
      return "Added";
  }
  return "?";
}

LoadCube::LoadCube(int steps, std::vector<int> layer_ids, int experts)
    : steps_(steps), layer_ids_(std::move(layer_ids)), experts_(experts) {
  const std::size_t cells =
      static_cast<std::size_t>(steps_) * layer_ids_.size() * static_cast<std::size_t>(experts_);
  for (auto& v : values_)
    v.assign(cells, 0);
  device_of_expert_.assign(static_cast<std::size_t>(experts_), 0);
}

LoadCube LoadCube::from_rows(const std::vector<ExpertLoadRow>& rows) {
  if (rows.empty()) return {};
  std::set<int> steps;
  std::set<int> layers;
  int max_expert = 0;
  for (const auto& r : rows) {
    if (r.step < 0 || r.expert < 0)
      throw Error("expert loads: negative step or expert index (step " + std::to_string(r.step) +
                  ", expert " + std::to_string(r.expert) + ")");
    steps.insert(r.step);
    layers.insert(r.layer);
    max_expert = std::max(max_expert, r.expert);
  }
  const int step_count = *steps.rbegin() + 1;
  LoadCube cube(step_count, std::vector<int>(layers.begin(), layers.end()), max_expert + 1);
  const std::size_t expected = static_cast<std::size_t>(step_count) * layers.size() *
                               static_cast<std::size_t>(max_expert + 1);
  if (rows.size() != expected || steps.size() != static_cast<std::size_t>(step_count)) {
    throw Error("expert loads: " + std::to_string(rows.size()) +
                " rows do not form a full grid of " + std::to_string(step_count) + " steps x " +
                std::to_string(layers.size()) + " layers x " + std::to_string(max_expert + 1) +
                " experts");
  }
  auto clamp32 = [](std::int64_t v) {
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(
        v, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()));
  };
  for (const auto& r : rows) {
    const int li = cube.layer_index(r.layer);
    cube.set(r.step, li, r.expert, LoadKind::kRouted, clamp32(r.routed));
    cube.set(r.step, li, r.expert, LoadKind::kKept, clamp32(r.kept));
    cube.set(r.step, li, r.expert, LoadKind::kDropped, clamp32(r.dropped));
    cube.set(r.step, li, r.expert, LoadKind::kAdded, clamp32(r.added));
    cube.set_device(r.expert, r.device);
  }
  cube.finish();
  return cube;
}

LoadCube LoadCube::from_slot_rows(const std::vector<ReplicaSlotRow>& rows) {
  std::vector<ExpertLoadRow> as_experts;
  as_experts.reserve(rows.size());
  for (const auto& r : rows) {
    as_experts.push_back({r.step, r.layer, r.slot, r.device, r.rows, r.rows, 0, 0, r.compute_ns});
  }
  return from_rows(as_experts);
}

int LoadCube::layer_index(int layer_id) const {
  const auto it = std::lower_bound(layer_ids_.begin(), layer_ids_.end(), layer_id);
  if (it == layer_ids_.end() || *it != layer_id) return -1;
  return static_cast<int>(it - layer_ids_.begin());
}

void LoadCube::set_device(int expert, int device) {
  device_of_expert_[static_cast<std::size_t>(expert)] = device;
}

std::size_t LoadCube::offset(int step, int layer_index, int expert) const {
  return (static_cast<std::size_t>(step) * layer_ids_.size() +
          static_cast<std::size_t>(layer_index)) *
             static_cast<std::size_t>(experts_) +
         static_cast<std::size_t>(expert);
}

void LoadCube::set(int step, int layer_index, int expert, LoadKind kind, std::int32_t value) {
  values_[static_cast<int>(kind)][offset(step, layer_index, expert)] = value;
}

std::int32_t LoadCube::value(int step, int layer_index, int expert, LoadKind kind) const {
  return values_[static_cast<int>(kind)][offset(step, layer_index, expert)];
}

void LoadCube::finish() {
  const std::size_t plane = layer_ids_.size() * static_cast<std::size_t>(experts_);
  for (int k = 0; k < kLoadKindCount; ++k) {
    auto& means = layer_means_[k];
    means.assign(plane, 0.0);
    for (int s = 0; s < steps_; ++s) {
      const std::int32_t* src = values_[k].data() + static_cast<std::size_t>(s) * plane;
      for (std::size_t i = 0; i < plane; ++i)
        means[i] += src[i];
    }
    if (steps_ > 0) {
      for (auto& m : means)
        m /= steps_;
    }
  }
}

double LoadCube::mean_over_steps(int layer_index, int expert, LoadKind kind) const {
  return layer_means_[static_cast<int>(kind)]
                     [static_cast<std::size_t>(layer_index) * static_cast<std::size_t>(experts_) +
                      static_cast<std::size_t>(expert)];
}

Grid LoadCube::layer_grid(LoadKind kind, bool normalized) const {
  Grid grid{layer_count(), experts_, layer_means_[static_cast<int>(kind)]};
  if (normalized) normalize_rows(grid);
  return grid;
}

Grid LoadCube::step_grid(int layer_index, LoadKind kind, bool normalized) const {
  Grid grid{steps_, experts_, {}};
  grid.values.resize(static_cast<std::size_t>(steps_) * static_cast<std::size_t>(experts_));
  for (int s = 0; s < steps_; ++s) {
    const std::int32_t* src = values_[static_cast<int>(kind)].data() + offset(s, layer_index, 0);
    std::copy(src, src + experts_, grid.values.begin() + static_cast<std::ptrdiff_t>(s) * experts_);
  }
  if (normalized) normalize_rows(grid);
  return grid;
}

void normalize_rows(Grid& grid) {
  for (int r = 0; r < grid.rows; ++r) {
    double* row =
        grid.values.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(grid.cols);
    double sum = 0;
    for (int c = 0; c < grid.cols; ++c)
      sum += row[c];
    const double mean = grid.cols > 0 ? sum / grid.cols : 0;
    for (int c = 0; c < grid.cols; ++c)
      row[c] = mean > 0 ? row[c] / mean : 0;
  }
}

}  // namespace moescope::viewdata
