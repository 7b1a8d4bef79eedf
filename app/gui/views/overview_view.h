// Overview: what a run was (model, policy, devices, timing) and its headline metrics, with one
// row per layer.
#pragma once

#include <QWidget>

#include "app/viewdata/run_data.h"

class QLabel;
class QPlainTextEdit;
class QTableView;

namespace moescope::gui {

class MetricsTableModel;
class LayerTableModel;

class OverviewView : public QWidget {
  Q_OBJECT

 public:
  explicit OverviewView(QWidget* parent = nullptr);

  void show_run(const viewdata::RunData* run);  // nullptr shows the empty state
  void select_layer(int layer);

  MetricsTableModel* metrics_model() const { return metrics_model_; }
  LayerTableModel* layer_model() const { return layer_model_; }
  QString header_text() const;

 signals:
  void layer_selected(int layer);

 private:
  QLabel* header_ = nullptr;
  QPlainTextEdit* spec_ = nullptr;
  QTableView* metrics_table_ = nullptr;
  QTableView* layer_table_ = nullptr;
  MetricsTableModel* metrics_model_ = nullptr;
  LayerTableModel* layer_model_ = nullptr;
};

}  // namespace moescope::gui
