// Compare: two or more runs (from any open session) side by side: the trade-off (speedup
// against output error, lost pairs or gate mass lost, with the Pareto front; hover names a
// point's run, a click shows it), a chart per headline metric in its own unit with the exact
// values in a sortable table, per-layer latency, and for a sweep the speedup and drop rate
// against gamma.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <QWidget>

#include "app/charts/compare_charts.h"

#include "app/viewdata/run_data.h"

class QComboBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QTabWidget;
class QTableWidget;

namespace moescope::gui {

class CompareView : public QWidget {
  Q_OBJECT

 public:
  bool eventFilter(QObject* watched, QEvent* event) override;

  explicit CompareView(QWidget* parent = nullptr);

  void show_runs(std::vector<viewdata::RunData> runs);
  const std::vector<viewdata::RunData>& runs() const { return runs_; }

  // The chart on the visible page (for Export chart); on the headline metrics, the one clicked
  // last (the first until one is).
  QCustomPlot* current_plot() const;
  // What hovering metric chart `m` at a widget point says: the run under it and its figure.
  QString metric_details_at(std::size_t m, const QPoint& pos) const;
  QCustomPlot* tradeoff_plot() const { return tradeoff_plot_; }
  QComboBox* tradeoff_cost() const { return tradeoff_cost_; }
  // The points the trade-off chart shows, for its hover and click.
  const std::vector<charts::TradeoffPoint>& tradeoff_points() const { return tradeoff_points_; }
  // The headline metrics, one small chart each (headline_metrics() order).
  const std::vector<QCustomPlot*>& metric_plots() const { return metric_plots_; }
  QCustomPlot* metrics_plot() const { return metric_plots_.front(); }
  QCustomPlot* layers_plot() const { return layers_plot_; }
  QCustomPlot* sweep_plot() const { return sweep_plot_; }
  QCustomPlot* sweep_lost_plot() const { return sweep_lost_plot_; }
  QTableWidget* values_table() const { return values_; }

 signals:
  // A trade-off point was clicked: show its run.
  void run_clicked(const std::string& session_path, std::int64_t run_id);

 private:
  void plot_tradeoff();
  // The trade-off point under the mouse (within a few pixels), or null.
  const charts::TradeoffPoint* point_at(const QPoint& pos) const;
  void on_tradeoff_hover(QMouseEvent* event);
  void on_tradeoff_click(QMouseEvent* event);
  QCustomPlot* chosen_metric_plot_ = nullptr;

  std::vector<viewdata::RunData> runs_;
  std::vector<viewdata::RunData> charted_;
  std::vector<charts::TradeoffPoint> tradeoff_points_;
  QComboBox* tradeoff_cost_ = nullptr;
  QCustomPlot* tradeoff_plot_ = nullptr;
  QLabel* hint_ = nullptr;
  QTabWidget* pages_ = nullptr;
  std::vector<QCustomPlot*> metric_plots_;
  QCustomPlot* layers_plot_ = nullptr;
  QCustomPlot* sweep_plot_ = nullptr;
  QCustomPlot* sweep_lost_plot_ = nullptr;
  QTableWidget* values_ = nullptr;
};

}  // namespace moescope::gui
