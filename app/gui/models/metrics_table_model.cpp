#include "app/gui/models/metrics_table_model.h"

#include "app/charts/compare_charts.h"

namespace moescope::gui {

QString format_metric(double value) {
  return QString::fromStdString(charts::format_metric_value(value));
}

MetricsTableModel::MetricsTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void MetricsTableModel::set_run(const viewdata::RunData* run) {
  beginResetModel();
  rows_.clear();
  if (run != nullptr) {
    for (const auto& m : headline_metrics()) {
      Row row;
      row.label = QString::fromUtf8(m.label.data(), static_cast<int>(m.label.size()));
      row.unit = QString::fromUtf8(m.unit.data(), static_cast<int>(m.unit.size()));
      row.tooltip = QString::fromUtf8(m.key.data(), static_cast<int>(m.key.size()));
      for (const auto& stored : run->metrics) {
        if (stored.name != m.key) continue;
        row.mean = stored.mean * m.scale;
        // Speedup is one number for the whole run; it has no per-layer maximum.
        if (m.key != "speedup") row.max = stored.max * m.scale;
      }
      rows_.push_back(row);
    }
  }
  endResetModel();
}

int MetricsTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int MetricsTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumnCount;
}

QVariant MetricsTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const Row& row = rows_[static_cast<std::size_t>(index.row())];
  if (role == Qt::ToolTipRole) return tr("Stored as %1").arg(row.tooltip);
  if (role == Qt::TextAlignmentRole && (index.column() == kMean || index.column() == kMax))
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::UserRole) {
    // The raw number (scaled to the unit), for tests and sorting.
    if (index.column() == kMean && row.mean) return *row.mean;
    if (index.column() == kMax && row.max) return *row.max;
    return {};
  }
  if (role != Qt::DisplayRole) return {};
  switch (index.column()) {
    case kMetric:
      return row.label;
    case kMean:
      return row.mean ? format_metric(*row.mean) : QStringLiteral("—");
    case kMax:
      return row.max ? format_metric(*row.max) : QStringLiteral("—");
    case kUnit:
      return row.unit;
    default:
      return {};
  }
}

QVariant MetricsTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case kMetric:
      return tr("Metric");
    case kMean:
      return tr("Mean over layers");
    case kMax:
      return tr("Max over layers");
    case kUnit:
      return tr("Unit");
    default:
      return {};
  }
}

}  // namespace moescope::gui
