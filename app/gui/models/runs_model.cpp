#include "app/gui/models/runs_model.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include <QFileInfo>
#include <QLocale>

namespace moescope::gui {

namespace {

// Expanded drop's m, from the run's stored policy; none for other policies and old runs.
QVariant m_of(const StoredRun& run) {
  if (run.policy_kind != "expanded" || run.policy_json.empty()) return {};
  const nlohmann::json j = nlohmann::json::parse(run.policy_json, nullptr, false);
  if (!j.is_object() || !j.contains("m") || !j["m"].is_number_integer()) return {};
  return j["m"].get<int>();
}

}  // namespace

static_assert(sizeof(quintptr) >= 8, "internal ids pack a session and a group into 64 bits");

RunsModel::RunsModel(QObject* parent) : QAbstractItemModel(parent) {}

void RunsModel::build_tree(Session& session) {
  // Read once here, not per paint: expanded drop's m from the run's policy JSON.
  session.m.clear();
  for (const StoredRun& run : session.runs)
    session.m.push_back(m_of(run));
  session.entries.clear();
  session.groups.clear();
  session.group_row.clear();
  std::map<std::int64_t, int> size_of_group;
  for (const StoredRun& run : session.runs) {
    if (run.group) ++size_of_group[*run.group];
  }
  // A group of two or more runs is one node, where its first run would be.
  std::map<std::int64_t, int> node_of_group;
  for (std::size_t i = 0; i < session.runs.size(); ++i) {
    const StoredRun& run = session.runs[i];
    if (!run.group || size_of_group[*run.group] < 2) {
      session.entries.push_back({static_cast<int>(i), -1});
      continue;
    }
    auto [it, added] =
        node_of_group.try_emplace(*run.group, static_cast<int>(session.groups.size()));
    if (added) {
      session.groups.emplace_back();
      session.group_row.push_back(static_cast<int>(session.entries.size()));
      session.entries.push_back({-1, it->second});
    }
    session.groups[static_cast<std::size_t>(it->second)].push_back(static_cast<int>(i));
  }
}

int RunsModel::session_of(quintptr id) const {
  const auto key = static_cast<quint32>(id >> 32);
  for (std::size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i].key == key) return static_cast<int>(i);
  }
  return -1;
}

int RunsModel::run_index(const QModelIndex& index) const {
  if (!index.isValid() || index.internalId() == kSessionId) return -1;
  const int s = session_of(index.internalId());
  if (s < 0) return -1;
  const Session& session = sessions_[static_cast<std::size_t>(s)];
  const int group = group_of(index.internalId());
  if (group >= 0)
    return session.groups[static_cast<std::size_t>(group)][static_cast<std::size_t>(index.row())];
  return session.entries[static_cast<std::size_t>(index.row())].run;
}

int RunsModel::group_index(const QModelIndex& index) const {
  if (!index.isValid() || index.internalId() == kSessionId || group_of(index.internalId()) >= 0)
    return -1;
  const int s = session_of(index.internalId());
  if (s < 0) return -1;
  const Session& session = sessions_[static_cast<std::size_t>(s)];
  return session.entries[static_cast<std::size_t>(index.row())].group;
}

int RunsModel::run_count(int session_row) const {
  if (session_row < 0 || session_row >= static_cast<int>(sessions_.size())) return 0;
  return static_cast<int>(sessions_[static_cast<std::size_t>(session_row)].runs.size());
}

std::vector<RunRef> RunsModel::runs_under(const QModelIndex& index) const {
  std::vector<RunRef> out;
  if (!index.isValid() || index.internalId() == kSessionId) return out;
  const int s = session_of(index.internalId());
  if (s < 0) return out;
  const Session& session = sessions_[static_cast<std::size_t>(s)];
  if (const int run = run_index(index); run >= 0) {
    out.push_back({session.path, session.runs[static_cast<std::size_t>(run)].id});
  } else if (const int group = group_index(index); group >= 0) {
    for (const int i : session.groups[static_cast<std::size_t>(group)])
      out.push_back({session.path, session.runs[static_cast<std::size_t>(i)].id});
  }
  return out;
}

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
    if (!session.entries.empty()) {
      beginRemoveRows(parent_index, 0, static_cast<int>(session.entries.size()) - 1);
      session.runs.clear();
      build_tree(session);
      endRemoveRows();
    }
    Session next{session.key, path, std::move(runs), {}, {}, {}, {}};
    build_tree(next);
    if (!next.entries.empty()) {
      beginInsertRows(parent_index, 0, static_cast<int>(next.entries.size()) - 1);
      session = std::move(next);
      endInsertRows();
    }
    return *row;
  }
  const int row = static_cast<int>(sessions_.size());
  Session session{next_key_++, path, std::move(runs), {}, {}, {}, {}};
  build_tree(session);
  beginInsertRows({}, row, row);
  sessions_.push_back(std::move(session));
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
  const Session& session = sessions_[static_cast<std::size_t>(*row)];
  const auto it = std::find_if(session.runs.begin(), session.runs.end(),
                               [&](const StoredRun& r) { return r.id == ref.run_id; });
  if (it == session.runs.end()) return {};
  const int run = static_cast<int>(it - session.runs.begin());
  for (std::size_t e = 0; e < session.entries.size(); ++e) {
    if (session.entries[e].run == run) return createIndex(static_cast<int>(e), 0, id_of(*row, -1));
  }
  for (std::size_t g = 0; g < session.groups.size(); ++g) {
    const auto& members = session.groups[g];
    const auto m = std::find(members.begin(), members.end(), run);
    if (m != members.end()) {
      return createIndex(static_cast<int>(m - members.begin()), 0,
                         id_of(*row, static_cast<int>(g)));
    }
  }
  return {};
}

std::optional<RunRef> RunsModel::run_at(const QModelIndex& index) const {
  const int run = run_index(index);
  if (run < 0) return std::nullopt;
  const Session& session = sessions_[static_cast<std::size_t>(session_of(index.internalId()))];
  return RunRef{session.path, session.runs[static_cast<std::size_t>(run)].id};
}

const StoredRun* RunsModel::stored_run(const RunRef& ref) const {
  const QModelIndex i = index_of(ref);
  const int run = run_index(i);
  if (run < 0) return nullptr;
  return &sessions_[static_cast<std::size_t>(session_of(i.internalId()))]
              .runs[static_cast<std::size_t>(run)];
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
  if (parent.column() != 0) return {};
  if (parent.internalId() == kSessionId) {
    const auto& session = sessions_[static_cast<std::size_t>(parent.row())];
    if (row >= static_cast<int>(session.entries.size())) return {};
    return createIndex(row, column, id_of(parent.row(), -1));
  }
  const int group = group_index(parent);
  if (group < 0) return {};
  const int s = session_of(parent.internalId());
  const auto& members =
      sessions_[static_cast<std::size_t>(s)].groups[static_cast<std::size_t>(group)];
  if (row >= static_cast<int>(members.size())) return {};
  return createIndex(row, column, id_of(s, group));
}

QModelIndex RunsModel::parent(const QModelIndex& child) const {
  if (!child.isValid() || child.internalId() == kSessionId) return {};
  const int s = session_of(child.internalId());
  if (s < 0) return {};
  const int group = group_of(child.internalId());
  if (group < 0) return createIndex(s, 0, kSessionId);
  const int row = sessions_[static_cast<std::size_t>(s)].group_row[static_cast<std::size_t>(group)];
  return createIndex(row, 0, id_of(s, -1));
}

int RunsModel::rowCount(const QModelIndex& parent) const {
  if (!parent.isValid()) return static_cast<int>(sessions_.size());
  if (parent.column() != 0) return 0;
  if (parent.internalId() == kSessionId)
    return static_cast<int>(sessions_[static_cast<std::size_t>(parent.row())].entries.size());
  const int group = group_index(parent);
  if (group < 0) return 0;
  return static_cast<int>(sessions_[static_cast<std::size_t>(session_of(parent.internalId()))]
                              .groups[static_cast<std::size_t>(group)]
                              .size());
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
  const int s = session_of(index.internalId());
  if (s < 0) return {};
  const auto& session = sessions_[static_cast<std::size_t>(s)];
  if (const int group = group_index(index); group >= 0)
    return group_data(session, group, index.column(), role);
  const StoredRun& run = session.runs[static_cast<std::size_t>(run_index(index))];
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
      return session.m[static_cast<std::size_t>(run_index(index))];
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

QVariant RunsModel::group_data(const Session& session, int group, int column, int role) const {
  const auto& members = session.groups[static_cast<std::size_t>(group)];
  const StoredRun& first = session.runs[static_cast<std::size_t>(members.front())];
  if (role == kSessionPathRole) return QString::fromStdString(session.path);
  if (role == Qt::ToolTipRole) {
    return tr("%1 runs recorded together (group %2): select this row to compare them all")
        .arg(members.size())
        .arg(*first.group);
  }
  if (role != Qt::DisplayRole) return {};
  // A sweep runs a policy at several settings (gamma, m, devices); a comparison runs each
  // policy once beside the baseline.
  std::map<std::string, int> runs_of_kind;
  bool sweep = false;
  for (const int i : members) {
    const StoredRun& run = session.runs[static_cast<std::size_t>(i)];
    sweep = sweep || ++runs_of_kind[run.policy_kind] > 1;
  }
  switch (column) {
    case kName:
      return tr("%1 · %2 runs").arg(sweep ? tr("Sweep") : tr("Comparison")).arg(members.size());
    case kGroup:
      return tr("group %1").arg(*first.group);
    case kCreated:
      return QString::fromStdString(first.created_at);
    default:
      return {};
  }
}

Qt::ItemFlags RunsModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
  if (run_index(index) >= 0) f |= Qt::ItemNeverHasChildren;
  return f;
}

}  // namespace moescope::gui
