// The headline metrics of one run (Overview): one row per metric, mean and worst layer.
#pragma once

#include <QAbstractTableModel>

#include "app/viewdata/run_data.h"

namespace moescope::gui {

class MetricsTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  // kMax is the largest per-layer value: the worst layer for latency or drop rate, the best for
  // gate mass kept.
  // kMean shows the mean with its spread ("1134 ± 12"); kSpread says what the spread is, or why
  // a figure has none.
  enum Column { kMetric, kMean, kMax, kUnit, kSpread, kColumnCount };

  explicit MetricsTableModel(QObject* parent = nullptr);
  void set_run(const viewdata::RunData* run);  // nullptr clears

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    QString label;
    QString unit;
    std::optional<double> mean;  // already scaled to `unit`
    std::optional<double> max;
    QString mean_text;       // with its spread
    QString spread;          // a few words
    QString spread_tooltip;  // the same in a sentence
    QString tooltip;
  };
  std::vector<Row> rows_;
};

// The shown text of a metric value: the same as the Compare table and the reports.
QString format_metric(double value);

}  // namespace moescope::gui
