#include "app/gui/models/metrics_table_model.h"

#include "app/charts/compare_charts.h"
#include "app/viewdata/metric_text.h"

namespace moescope::gui {

QString format_metric(double value) {
  return QString::fromStdString(viewdata::format_value(value));
}

MetricsTableModel::MetricsTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void MetricsTableModel::set_run(const viewdata::RunData* run) {
  beginResetModel();
  rows_.clear();
  if (run != nullptr) {
    std::vector<MetricInfo> shown = headline_metrics();
    // Both timelines side by side when the run has both: what the loads predict and what this
    // machine measured.
    if (run->metric_row("modeled_latency_ns") != nullptr) {
      shown.push_back(metric_info("composed_latency_ns"));
      shown.push_back(metric_info("modeled_latency_ns"));
    }
    for (const auto& m : shown) {
      Row row;
      row.label = QString::fromUtf8(m.label.data(), static_cast<int>(m.label.size()));
      row.unit = QString::fromUtf8(m.unit.data(), static_cast<int>(m.unit.size()));
      row.tooltip =
          QString::fromUtf8(m.description.data(), static_cast<int>(m.description.size())) +
          tr(" (stored as %1)")
              .arg(QString::fromUtf8(m.key.data(), static_cast<int>(m.key.size())));
      if (const MetricRow* stored = run->metric_row(m.key)) {
        row.mean = stored->mean * m.scale;
        // Speedup is one number for the whole run; it has no per-layer maximum.
        if (m.key != "speedup") row.max = stored->max * m.scale;
        row.mean_text = QString::fromStdString(viewdata::format_stored(m, *run));
      }
      row.spread = QString::fromStdString(viewdata::spread_brief(m, *run));
      row.spread_tooltip = QString::fromStdString(viewdata::spread_text(m, *run));
      rows_.push_back(row);
    }
    const MetricRow* composed = run->metric_row("composed_latency_ns");
    const MetricRow* modeled = run->metric_row("modeled_latency_ns");
    if (composed != nullptr && modeled != nullptr && composed->mean > 0) {
      Row gap;
      gap.label = tr("Model gap (modeled vs composed)");
      gap.unit = "%";
      gap.mean = 100 * (modeled->mean - composed->mean) / composed->mean;
      gap.mean_text = QString::number(*gap.mean, 'f', 1);
      gap.spread = tr("model error");
      gap.spread_tooltip = tr("the cost model's error on this run");
      gap.tooltip = tr("How far the latency the loads predict is from the one measured");
      rows_.push_back(gap);
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
  if (role == Qt::ToolTipRole) {
    return index.column() == kSpread && !row.spread_tooltip.isEmpty() ? row.spread_tooltip
                                                                      : row.tooltip;
  }
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
      return row.mean ? row.mean_text : QStringLiteral("—");
    case kMax:
      return row.max ? format_metric(*row.max) : QStringLiteral("—");
    case kUnit:
      return row.unit;
    case kSpread:
      return row.spread;
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
    case kSpread:
      return tr("Spread");
    default:
      return {};
  }
}

}  // namespace moescope::gui
