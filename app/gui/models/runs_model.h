// The sessions/runs tree: open sessions at the top level, their runs below, the runs recorded
// together (a comparison or a sweep) under one node of their own. Several sessions can be open
// at once, so runs from different files can be compared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <QAbstractItemModel>

#include "core/session/session_store.h"

namespace moescope::gui {

struct RunRef {
  std::string session_path;
  std::int64_t run_id = 0;
  bool operator==(const RunRef&) const = default;
};

class RunsModel : public QAbstractItemModel {
  Q_OBJECT

 public:
  enum Column {
    kName,
    kPolicy,
    kGamma,
    kM,
    kDevices,
    kBackend,
    kTiming,
    kStatus,
    kLatency,
    kSpeedup,
    kGroup,
    kCreated,
    kColumnCount
  };
  enum Role { kRunIdRole = Qt::UserRole + 1, kSessionPathRole };

  explicit RunsModel(QObject* parent = nullptr);

  // Adds a session (or refreshes it when already open) with the runs read from its file.
  // Returns the session's row.
  int set_session(const std::string& path, std::vector<StoredRun> runs);
  void remove_session(const std::string& path);
  int session_count() const { return static_cast<int>(sessions_.size()); }
  const std::string& session_path(int row) const {
    return sessions_[static_cast<std::size_t>(row)].path;
  }
  std::optional<int> session_row(const std::string& path) const;

  QModelIndex index_of(const RunRef& ref) const;
  std::optional<RunRef> run_at(const QModelIndex& index) const;
  // The runs an item stands for: a run itself, every run of a comparison or sweep node.
  std::vector<RunRef> runs_under(const QModelIndex& index) const;
  // How many runs a session holds, grouped or not.
  int run_count(int session_row) const;
  const StoredRun* stored_run(const RunRef& ref) const;
  // The runs of an open session, as listed; empty for a session not open.
  std::vector<StoredRun> runs_of(const std::string& session_path) const;
  // The runs outside `runs` whose speedup is measured against one of them (their baseline):
  // what deleting `runs` would leave without a baseline.
  std::vector<RunRef> measured_against(const std::vector<RunRef>& runs) const;

  QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
  QModelIndex parent(const QModelIndex& child) const override;
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;

 private:
  // A row under a session: a run, or the node of a group of runs recorded together.
  struct Entry {
    int run = -1;
    int group = -1;
  };
  struct Session {
    quint32 key = 0;  // never reused while the model lives
    std::string path;
    std::vector<StoredRun> runs;
    std::vector<Entry> entries;            // the session's rows
    std::vector<std::vector<int>> groups;  // each group node's runs, by index into runs
    std::vector<int> group_row;            // each group node's row among entries
    std::vector<QVariant> m;               // expanded drop's m of each run, read once
  };
  static void build_tree(Session& session);
  // Internal ids: 0 for sessions; a session's own key (stable while it is open, unlike its row)
  // << 32 for its rows, with the group node's index + 1 in the low bits for a group's runs.
  static constexpr quintptr kSessionId = 0;
  quintptr id_of(int session, int group) const {
    return (static_cast<quintptr>(sessions_[static_cast<std::size_t>(session)].key) << 32) |
           static_cast<quintptr>(group + 1);
  }
  // The row of the session an id belongs to; -1 once that session is closed.
  int session_of(quintptr id) const;
  static int group_of(quintptr id) { return static_cast<int>(id & 0xffffffffu) - 1; }
  // The run at an index, or -1 (a session or a group node).
  int run_index(const QModelIndex& index) const;
  // The group node at an index, or -1.
  int group_index(const QModelIndex& index) const;
  QVariant group_data(const Session& session, int group, int column, int role) const;

  std::vector<Session> sessions_;
  quint32 next_key_ = 1;
};

}  // namespace moescope::gui
