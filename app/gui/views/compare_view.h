// Compare: two or more runs (from any open session) side by side: grouped bars of the headline
// metrics with the exact values in a table, per-layer latency, and for a sweep the speedup and
// drop rate against gamma, one line per policy.
#pragma once

#include <vector>

#include <QWidget>

#include "app/viewdata/run_data.h"

class QCustomPlot;
class QLabel;
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

  // The chart on the visible page (for Export chart).
  QCustomPlot* current_plot() const;
  QCustomPlot* metrics_plot() const { return metrics_plot_; }
  QCustomPlot* layers_plot() const { return layers_plot_; }
  QCustomPlot* sweep_plot() const { return sweep_plot_; }
  QCustomPlot* sweep_lost_plot() const { return sweep_lost_plot_; }
  QTableWidget* values_table() const { return values_; }

 private:
  std::vector<viewdata::RunData> runs_;
  QLabel* hint_ = nullptr;
  QTabWidget* pages_ = nullptr;
  QCustomPlot* metrics_plot_ = nullptr;
  QCustomPlot* layers_plot_ = nullptr;
  QCustomPlot* sweep_plot_ = nullptr;
  QCustomPlot* sweep_lost_plot_ = nullptr;
  QTableWidget* values_ = nullptr;
};

}  // namespace moescope::gui
