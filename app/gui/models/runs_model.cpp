#include "app/gui/models/runs_model.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <QFileInfo>
#include <QLocale>

namespace moescope::gui {

RunsModel::RunsModel(QObject* parent) : QAbstractItemModel(parent) {}

std::optional<int> RunsModel::session_row(const std::string& path) const {
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i].path == path) return static_cast<int>(i);
  }
  return std::nullopt;
}

int RunsModel::set_session(const std::string& path, std::vector<StoredRun> runs) {
  if (const auto row = session_row(path)) {
    // Replace the children: remove then insert keeps persistent indexes honest.
    auto& session = sessions_[static_cast<std::size_t>(*row)];
    const QModelIndex parent_index = index(*row, 0);
    if (!session.runs.empty()) {
      beginRemoveRows(parent_index, 0, static_cast<int>(session.runs.size()) - 1);
      session.runs.clear();
      endRemoveRows();
    }
    if (!runs.empty()) {
      beginInsertRows(parent_index, 0, static_cast<int>(runs.size()) - 1);
      session.runs = std::move(runs);
      endInsertRows();
    }
    return *row;
  }
  const int row = static_cast<int>(sessions_.size());
  beginInsertRows({}, row, row);
  sessions_.push_back({path, std::move(runs)});
  endInsertRows();
  return row;
}

void RunsModel::remove_session(const std::string& path) {
  const auto row = session_row(path);
  if (!row) return;
  beginRemoveRows({}, *row, *row);
  sessions_.erase(sessions_.begin() + *row);
  endRemoveRows();
}

QModelIndex RunsModel::index_of(const RunRef& ref) const {
  const auto row = session_row(ref.session_path);
  if (!row) return {};
  const auto& runs = sessions_[static_cast<std::size_t>(*row)].runs;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].id == ref.run_id) return createIndex(static_cast<int>(i), 0, quintptr(*row + 1));
  }
  return {};
}

std::optional<RunRef> RunsModel::run_at(const QModelIndex& index) const {
  if (!index.isValid() || index.internalId() == kSessionId) return std::nullopt;
  const auto& session = sessions_[index.internalId() - 1];
  return RunRef{session.path, session.runs[static_cast<std::size_t>(index.row())].id};
}

const StoredRun* RunsModel::stored_run(const RunRef& ref) const {
  const QModelIndex i = index_of(ref);
  if (!i.isValid()) return nullptr;
  return &sessions_[i.internalId() - 1].runs[static_cast<std::size_t>(i.row())];
}

std::vector<StoredRun> RunsModel::runs_of(const std::string& session_path) const {
  for (const Session& session : sessions_) {
    if (session.path == session_path) return session.runs;
  }
  return {};
}

std::vector<RunRef> RunsModel::measured_against(const std::vector<RunRef>& runs) const {
  std::vector<RunRef> out;
  for (const Session& session : sessions_) {
    for (const StoredRun& run : session.runs) {
      const RunRef ref{session.path, run.id};
      if (!run.baseline_run || std::find(runs.begin(), runs.end(), ref) != runs.end()) continue;
      const RunRef baseline{session.path, *run.baseline_run};
      if (std::find(runs.begin(), runs.end(), baseline) != runs.end()) out.push_back(ref);
    }
  }
  return out;
}

QModelIndex RunsModel::index(int row, int column, const QModelIndex& parent) const {
  if (row < 0 || column < 0 || column >= kColumnCount) return {};
  if (!parent.isValid()) {
    if (row >= static_cast<int>(sessions_.size())) return {};
    return createIndex(row, column, kSessionId);
  }
  if (parent.internalId() != kSessionId || parent.column() != 0) return {};
  const auto& session = sessions_[static_cast<std::size_t>(parent.row())];
  if (row >= static_cast<int>(session.runs.size())) return {};
  return createIndex(row, column, quintptr(parent.row() + 1));
}

QModelIndex RunsModel::parent(const QModelIndex& child) const {
  if (!child.isValid() || child.internalId() == kSessionId) return {};
  return createIndex(static_cast<int>(child.internalId() - 1), 0, kSessionId);
}

int RunsModel::rowCount(const QModelIndex& parent) const {
  if (!parent.isValid()) return static_cast<int>(sessions_.size());
  if (parent.internalId() != kSessionId || parent.column() != 0) return 0;
  return static_cast<int>(sessions_[static_cast<std::size_t>(parent.row())].runs.size());
}

int RunsModel::columnCount(const QModelIndex&) const {
  return kColumnCount;
}

// "1,134.2 ± 12.1" µs, as the Overview writes it.
QString latency_text(const StoredRun& run) {
  QString text = QLocale().toString(*run.latency_ns / 1e3, 'f', 1);
  if (run.latency_interval) {
    text += " ± " + QLocale().toString(run.latency_interval->half_width() / 1e3, 'f', 1);
  }
  return text;
}

// "1.31× ± 0.14", "1.02× n.s." (its interval holds 1), "1.00× same work".
QString speedup_text(const StoredRun& run) {
  QString text = QString::number(*run.speedup, 'f', 2) + "×";
  if (!run.baseline_run) return text;
  if (run.same_work) return text + RunsModel::tr(" same work");
  if (!run.speedup_interval) return text;
  if (run.speedup_interval->contains(1.0)) return text + RunsModel::tr(" n.s.");
  return text + " ± " + QString::number(run.speedup_interval->half_width(), 'f', 2);
}

// Expanded drop's m, from the run's stored policy; none for other policies and old runs.
QVariant m_of(const StoredRun& run) {
  if (run.policy_kind != "expanded" || run.policy_json.empty()) return {};
  const nlohmann::json j = nlohmann::json::parse(run.policy_json, nullptr, false);
  if (!j.is_object() || !j.contains("m") || !j["m"].is_number_integer()) return {};
  return j["m"].get<int>();
}

bool is_number_column(int column) {
  return column == RunsModel::kGamma || column == RunsModel::kM || column == RunsModel::kDevices ||
         column == RunsModel::kLatency || column == RunsModel::kSpeedup;
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  if (index.internalId() == kSessionId) {
    const auto& session = sessions_[static_cast<std::size_t>(index.row())];
    if (index.column() != kName) return {};
    if (role == Qt::DisplayRole) return QFileInfo(QString::fromStdString(session.path)).fileName();
    if (role == Qt::ToolTipRole || role == kSessionPathRole)
      return QString::fromStdString(session.path);
    return {};
  }
  const auto& session = sessions_[index.internalId() - 1];
  const StoredRun& run = session.runs[static_cast<std::size_t>(index.row())];
  if (role == kRunIdRole) return QVariant::fromValue<qlonglong>(run.id);
  if (role == kSessionPathRole) return QString::fromStdString(session.path);
  if (role == Qt::TextAlignmentRole && is_number_column(index.column()))
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    return QString("Run #%1 · %2 · %3 tokens × %4 steps · %5 backend, %6 timing")
        .arg(run.id)
        .arg(QString::fromStdString(run.model))
        .arg(run.tokens)
        .arg(run.steps)
        .arg(QString::fromStdString(run.backend), QString::fromStdString(run.timing));
  }
  if (role != Qt::DisplayRole && role != Qt::EditRole) return {};
  switch (index.column()) {
    case kName:
      return QString::fromStdString(run.name);
    case kPolicy:
      return QString::fromStdString(run.policy);
    case kGamma:
      return run.gamma ? QVariant(*run.gamma) : QVariant();
    case kM:
      return m_of(run);
    case kBackend:
      return QString::fromStdString(run.backend);
    case kTiming:
      return QString::fromStdString(run.timing);
    case kGroup:
      // A comparison or a sweep: the runs recorded together.
      return run.group ? QVariant(tr("group %1").arg(*run.group)) : QVariant();
    case kStatus:
      return QString::fromStdString(run.status);
    case kLatency:
      return run.latency_ns ? QVariant(latency_text(run)) : QVariant();
    case kSpeedup:
      return run.speedup ? QVariant(speedup_text(run)) : QVariant();
    case kDevices:
      return run.devices;
    case kCreated:
      return QString::fromStdString(run.created_at);
    default:
      return {};
  }
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case kName:
      return tr("Run");
    case kPolicy:
      return tr("Policy");
    case kGamma:
      return tr("γ");
    case kM:
      return tr("m");
    case kBackend:
      return tr("Backend");
    case kTiming:
      return tr("Timing");
    case kGroup:
      return tr("Recorded with");
    case kStatus:
      return tr("Status");
    case kLatency:
      return tr("Latency (µs)");
    case kSpeedup:
      return tr("Speedup");
    case kDevices:
      return tr("Devices");
    case kCreated:
      return tr("Created (UTC)");
    default:
      return {};
  }
}

Qt::ItemFlags RunsModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
  if (index.internalId() != kSessionId) f |= Qt::ItemNeverHasChildren;
  return f;
}

}  // namespace moescope::gui
