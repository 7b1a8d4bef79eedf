// The sessions/runs tree: open sessions at the top level, their runs below. Several sessions
// can be open at once, so runs from different files can be compared.
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
  struct Session {
    std::string path;
    std::vector<StoredRun> runs;
  };
  // Runs' internal ids point at their session (row + 1); sessions carry 0.
  static constexpr quintptr kSessionId = 0;

  std::vector<Session> sessions_;
};

}  // namespace moescope::gui
