// The expert-load heatmap drawn in a QCustomPlot: one QCPColorMap cell per (row, expert), a
// color scale, device boundaries as vertical lines. Shared by the Load heatmap view and reports.
#pragma once

#include <optional>
#include <vector>

#include <QString>

#include "app/viewdata/load_cube.h"

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPAbstractItem;
class QCPTextElement;

namespace moescope::charts {

struct HeatmapLabels {
  QString title;
  QString row_label;                  // "Layer" or "Step"
  std::vector<int> row_ids;           // the label of each row (layer numbers or step numbers)
  QString value_label;                // the color scale's label
  std::vector<int> device_of_expert;  // draws a boundary where the device changes
  QString column_label = "Expert";    // or "Slot" for a replicated run's physical slots
};

struct HeatmapCell {
  int row = 0;
  int expert = 0;
};

class HeatmapChart {
 public:
  explicit HeatmapChart(QCustomPlot& plot);

  // Replaces the shown grid; does not replot (the caller decides when).
  void set_grid(const viewdata::Grid& grid, const HeatmapLabels& labels);
  // The cell under a widget pixel, when there is one.
  std::optional<HeatmapCell> cell_at(double pixel_x, double pixel_y) const;
  // Outlines one cell (or nothing with nullopt): the selection shared with the other views.
  void mark_cell(std::optional<HeatmapCell> cell);

  const viewdata::Grid& grid() const { return grid_; }
  QCPColorMap* color_map() const { return map_; }

 private:
  QCustomPlot& plot_;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCPTextElement* title_ = nullptr;
  std::vector<QCPAbstractItem*> boundaries_;
  QCPAbstractItem* marker_ = nullptr;
  viewdata::Grid grid_;
};

}  // namespace moescope::charts
