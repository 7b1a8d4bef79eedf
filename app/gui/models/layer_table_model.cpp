#include "app/gui/models/layer_table_model.h"

#include <map>
#include <string_view>

#include "app/gui/models/metrics_table_model.h"
#include "app/viewdata/metric_text.h"
#include "core/run/metric_table.h"

namespace moescope::gui {

std::vector<LayerTableModel::Row> average_layers(const std::vector<LayerStatRow>& stats) {
  struct Sums {
    LayerTableModel::Row row;
    int count = 0;
    std::map<int, int> stragglers;
  };
  std::map<int, Sums> by_layer;
  for (const auto& s : stats) {
    auto& sums = by_layer[s.layer];
    sums.row.layer = s.layer;
    sums.row.latency_us += static_cast<double>(s.latency_ns) / 1e3;
    sums.row.latency_half_us += static_cast<double>(s.latency_high_ns - s.latency_low_ns) / 2e3;
    if (s.lost_pairs) {
      sums.row.lost_pairs_percent = sums.row.lost_pairs_percent.value_or(0) + *s.lost_pairs * 100;
    }
    sums.row.straggler_margin_us += static_cast<double>(s.straggler_margin_ns) / 1e3;
    sums.row.imbalance_routed += s.imbalance_routed;
    sums.row.imbalance_kept += s.imbalance_kept;
    sums.row.drop_rate_percent += s.drop_rate * 100;
    sums.row.output_error += s.output_error;
    ++sums.stragglers[s.straggler_device];
    ++sums.count;
  }
  std::vector<LayerTableModel::Row> rows;
  for (auto& [layer, sums] : by_layer) {
    auto r = sums.row;
    const double n = sums.count;
    r.latency_us /= n;
    r.latency_half_us /= n;
    if (r.lost_pairs_percent) *r.lost_pairs_percent /= n;
    r.straggler_margin_us /= n;
    r.imbalance_routed /= n;
    r.imbalance_kept /= n;
    r.drop_rate_percent /= n;
    r.output_error /= n;
    int best = -1;
    for (const auto& [device, count] : sums.stragglers) {
      if (count > best) {
        best = count;
        r.straggler_device = device;
      }
    }
    rows.push_back(r);
  }
  return rows;
}

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void LayerTableModel::set_run(const viewdata::RunData* run) {
  beginResetModel();
  rows_ = run != nullptr ? average_layers(run->layers) : std::vector<Row>{};
  endResetModel();
}

int LayerTableModel::row_of_layer(int layer) const {
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i].layer == layer) return static_cast<int>(i);
  }
  return -1;
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : kColumnCount;
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const Row& r = rows_[static_cast<std::size_t>(index.row())];
  double value = 0;
  switch (index.column()) {
    case kLayer:
      value = r.layer;
      break;
    case kLatency:
      value = r.latency_us;
      break;
    case kStragglerMargin:
      value = r.straggler_margin_us;
      break;
    case kStragglerDevice:
      value = r.straggler_device;
      break;
    case kImbalanceRouted:
      value = r.imbalance_routed;
      break;
    case kImbalanceKept:
      value = r.imbalance_kept;
      break;
    case kDropRate:
      value = r.drop_rate_percent;
      break;
    case kLostPairs:
      if (!r.lost_pairs_percent) return role == Qt::DisplayRole ? QVariant("—") : QVariant();
      value = *r.lost_pairs_percent;
      break;
    case kOutputError:
      value = r.output_error;
      break;
    default:
      return {};
  }
  if (role == Qt::UserRole) return value;
  if (role == Qt::TextAlignmentRole) return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  if (role != Qt::DisplayRole) return {};
  if (index.column() == kLayer || index.column() == kStragglerDevice)
    return static_cast<int>(value);
  if (index.column() == kLatency && r.latency_half_us > 0)
    return QString::fromStdString(viewdata::format_with_spread(value, r.latency_half_us));
  return format_metric(value);
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (role == Qt::ToolTipRole) {
    // The glossary's sentence for each metric column.
    static const std::map<int, std::string_view> kKeys = {{kLatency, "latency_ns"},
                                                          {kStragglerMargin, "straggler_margin_ns"},
                                                          {kImbalanceRouted, "imbalance_routed"},
                                                          {kImbalanceKept, "imbalance_kept"},
                                                          {kDropRate, "drop_rate"},
                                                          {kLostPairs, "lost_pairs"},
                                                          {kOutputError, "output_error"}};
    if (section == kStragglerDevice)
      return tr("The device whose experts finished the layer last: the others waited for it");
    const auto it = kKeys.find(section);
    if (it == kKeys.end()) return {};
    const auto description = metric_info(it->second).description;
    return QString::fromUtf8(description.data(), static_cast<qsizetype>(description.size()));
  }
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case kLayer:
      return tr("Layer");
    case kLatency:
      return tr("Latency (µs)");
    case kStragglerMargin:
      return tr("Straggler margin (µs)");
    case kStragglerDevice:
      return tr("Straggler device");
    case kImbalanceRouted:
      return tr("Imbalance routed");
    case kImbalanceKept:
      return tr("Imbalance kept");
    case kDropRate:
      return tr("Drop rate (%)");
    case kLostPairs:
      return tr("Lost pairs (%)");
    case kOutputError:
      return tr("Output error");
    default:
      return {};
  }
}

}  // namespace moescope::gui
