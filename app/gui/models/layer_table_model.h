// Per-layer rows of one run (Overview), averaged over the steps.
#pragma once

#include <optional>

#include <QAbstractTableModel>

#include "app/viewdata/run_data.h"

namespace moescope::gui {

class LayerTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    kLayer,
    kLatency,
    kStragglerMargin,
    kStragglerDevice,
    kImbalanceRouted,
    kImbalanceKept,
    kDropRate,
    kLostPairs,
    kOutputError,
    kColumnCount
  };

  struct Row {
    int layer = 0;
    double latency_us = 0;
    double latency_half_us = 0;  // half its interval over the repeats (mean over steps)
    double straggler_margin_us = 0;
    int straggler_device = 0;  // the most frequent straggler over the steps
    double imbalance_routed = 0;
    double imbalance_kept = 0;
    double drop_rate_percent = 0;
    std::optional<double> lost_pairs_percent;  // unknown for runs stored before schema 5
    double output_error = 0;
  };

  explicit LayerTableModel(QObject* parent = nullptr);
  void set_run(const viewdata::RunData* run);  // nullptr clears
  const std::vector<Row>& rows() const { return rows_; }
  int row_of_layer(int layer) const;  // -1 when absent

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<Row> rows_;
};

// Averages the stored (step, layer) rows per layer.
std::vector<LayerTableModel::Row> average_layers(const std::vector<LayerStatRow>& stats);

}  // namespace moescope::gui
