#include "app/charts/heatmap_chart.h"

#include <algorithm>

#include <qcustomplot.h>

#include "app/charts/chart_style.h"

namespace moescope::charts {
namespace {

// Viridis, sampled: perceptually uniform and readable by color-blind users, unlike a rainbow.
QCPColorGradient viridis() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.00, QColor(0x44, 0x01, 0x54));
  g.setColorStopAt(0.25, QColor(0x3b, 0x52, 0x8b));
  g.setColorStopAt(0.50, QColor(0x21, 0x91, 0x8c));
  g.setColorStopAt(0.75, QColor(0x5e, 0xc9, 0x62));
  g.setColorStopAt(1.00, QColor(0xfd, 0xe7, 0x25));
  g.setColorInterpolation(QCPColorGradient::ciRGB);
  return g;
}

// At most about `max_labels` labels on an axis of `count` integer positions.
QSharedPointer<QCPAxisTickerText> integer_ticker(const std::vector<int>& ids, int max_labels) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  const int n = static_cast<int>(ids.size());
  const int stride = std::max(1, (n + max_labels - 1) / max_labels);
  for (int i = 0; i < n; i += stride)
    ticker->addTick(i, QString::number(ids[static_cast<std::size_t>(i)]));
  return ticker;
}

}  // namespace

HeatmapChart::HeatmapChart(QCustomPlot& plot) : plot_(plot) {
  apply_chart_style(plot_);
  plot_.plotLayout()->insertRow(0);
  title_ = new QCPTextElement(&plot_, QString(), chart_font(11));
  plot_.plotLayout()->addElement(0, 0, title_);

  map_ = new QCPColorMap(plot_.xAxis, plot_.yAxis);
  map_->setInterpolate(false);
  // Whole cells at the edges: a tight boundary halves the outer rows (and hides a single row).
  map_->setTightBoundary(false);
  scale_ = new QCPColorScale(&plot_);
  plot_.plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  scale_->axis()->setTickLabelFont(chart_font(9));
  scale_->axis()->setLabelFont(chart_font(10));
  map_->setColorScale(scale_);
  map_->setGradient(viridis());
  // Keep the scale as tall as the plot area.
  auto* group = new QCPMarginGroup(&plot_);
  plot_.axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  plot_.xAxis->setLabel("Expert");
  plot_.xAxis->grid()->setVisible(false);
  plot_.yAxis->grid()->setVisible(false);
}

void HeatmapChart::set_grid(const viewdata::Grid& grid, const HeatmapLabels& labels) {
  grid_ = grid;
  title_->setText(labels.title);
  plot_.xAxis->setLabel(labels.column_label);
  auto* data = map_->data();
  data->setSize(std::max(grid.cols, 1), std::max(grid.rows, 1));
  // QCustomPlot spans n cells over [lower, upper] plus half a cell each side; a single cell
  // gets no half cells, so it is given the whole [-0.5, 0.5] itself.
  auto cell_range = [](int n) { return n > 1 ? QCPRange(0, n - 1) : QCPRange(-0.5, 0.5); };
  data->setRange(cell_range(grid.cols), cell_range(grid.rows));
  for (int r = 0; r < grid.rows; ++r) {
    for (int c = 0; c < grid.cols; ++c)
      data->setCell(c, r, grid.at(r, c));
  }
  if (grid.rows == 0 || grid.cols == 0) data->fill(0);
  map_->rescaleDataRange(true);
  // A flat grid (all equal) would give an empty range; show it against [v, v+1].
  QCPRange range = map_->dataRange();
  if (range.size() <= 0) map_->setDataRange(QCPRange(range.lower, range.lower + 1));
  scale_->axis()->setLabel(labels.value_label);

  plot_.xAxis->setRange(-0.5, grid.cols - 0.5);
  plot_.yAxis->setRange(-0.5, grid.rows - 0.5);
  plot_.yAxis->setLabel(labels.row_label);
  std::vector<int> expert_ids(static_cast<std::size_t>(grid.cols));
  for (int e = 0; e < grid.cols; ++e)
    expert_ids[static_cast<std::size_t>(e)] = e;
  plot_.xAxis->setTicker(integer_ticker(expert_ids, 16));
  plot_.yAxis->setTicker(integer_ticker(labels.row_ids, 16));

  for (auto* item : boundaries_)
    plot_.removeItem(item);
  boundaries_.clear();
  const auto& devices = labels.device_of_expert;
  for (std::size_t e = 1; e < devices.size() && static_cast<int>(e) < grid.cols; ++e) {
    if (devices[e] == devices[e - 1]) continue;
    auto* line = new QCPItemStraightLine(&plot_);
    line->point1->setCoords(static_cast<double>(e) - 0.5, 0);
    line->point2->setCoords(static_cast<double>(e) - 0.5, 1);
    line->setPen(QPen(QColor(255, 255, 255, 220), 1.5, Qt::DashLine));
    line->setSelectable(false);
    boundaries_.push_back(line);
  }
  mark_cell(std::nullopt);
}

std::optional<HeatmapCell> HeatmapChart::cell_at(double pixel_x, double pixel_y) const {
  if (grid_.rows == 0 || grid_.cols == 0) return std::nullopt;
  if (!plot_.axisRect()->rect().contains(static_cast<int>(pixel_x), static_cast<int>(pixel_y)))
    return std::nullopt;
  const double x = plot_.xAxis->pixelToCoord(pixel_x);
  const double y = plot_.yAxis->pixelToCoord(pixel_y);
  const int col = static_cast<int>(std::floor(x + 0.5));
  const int row = static_cast<int>(std::floor(y + 0.5));
  if (col < 0 || col >= grid_.cols || row < 0 || row >= grid_.rows) return std::nullopt;
  return HeatmapCell{row, col};
}

void HeatmapChart::mark_cell(std::optional<HeatmapCell> cell) {
  if (marker_ != nullptr) {
    plot_.removeItem(marker_);
    marker_ = nullptr;
  }
  if (!cell) return;
  // One outline for the selection: a handful of items is fine, unlike one per cell.
  auto* rect = new QCPItemRect(&plot_);
  rect->topLeft->setCoords(cell->expert - 0.5, cell->row + 0.5);
  rect->bottomRight->setCoords(cell->expert + 0.5, cell->row - 0.5);
  rect->setPen(QPen(QColor(0xe1, 0x57, 0x59), 2));
  rect->setBrush(Qt::NoBrush);
  rect->setSelectable(false);
  marker_ = rect;
}

}  // namespace moescope::charts
