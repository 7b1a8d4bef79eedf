// Overview: what a run was (model, policy, devices, timing) and its headline metrics, with one
// row per layer and one per device (whom the layers wait for; a click shows the device's first
// straggling layer in the timeline).
#pragma once

#include <memory>
#include <vector>

#include <QWidget>

#include "app/viewdata/device_summary.h"

#include "app/viewdata/run_data.h"

class QLabel;
class QPlainTextEdit;
class QTableView;
class QTableWidget;
class QTabWidget;

namespace moescope::gui {

class MetricsTableModel;
class LayerTableModel;

class OverviewView : public QWidget {
  Q_OBJECT

 public:
  explicit OverviewView(QWidget* parent = nullptr);

  void show_run(const viewdata::RunData* run);  // nullptr shows the empty state
  void select_layer(int layer);
  // The per-device summary of the shown run's timeline; null clears it.
  void show_devices(std::shared_ptr<const viewdata::TimelineData> timeline);
  QTableWidget* devices_table() const { return devices_table_; }
  const std::vector<viewdata::DeviceSummaryRow>& device_rows() const { return device_rows_; }

  MetricsTableModel* metrics_model() const { return metrics_model_; }
  LayerTableModel* layer_model() const { return layer_model_; }
  QString header_text() const;

 signals:
  void layer_selected(int layer);
  // A device row was clicked: its first straggling layer (else the first layer), and its
  // busiest expert (-1 when none).
  void device_activated(int layer, int expert);

 private:
  QLabel* header_ = nullptr;
  QPlainTextEdit* spec_ = nullptr;
  QTableView* metrics_table_ = nullptr;
  QTableView* layer_table_ = nullptr;
  QTabWidget* lower_ = nullptr;
  QTableWidget* devices_table_ = nullptr;
  std::shared_ptr<const viewdata::TimelineData> timeline_;
  std::vector<viewdata::DeviceSummaryRow> device_rows_;
  MetricsTableModel* metrics_model_ = nullptr;
  LayerTableModel* layer_model_ = nullptr;
};

}  // namespace moescope::gui
