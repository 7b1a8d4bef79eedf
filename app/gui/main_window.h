// The main window: the sessions/runs tree on the left, the views in the middle (Overview, Load
// heatmap, Straggler timeline, Compare), the run-setup panel on the right, and a status bar
// naming the backends and devices.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <QDateTime>
#include <QMainWindow>

#include "app/gui/models/runs_model.h"
#include "app/viewdata/loaded_run.h"
#include "app/viewdata/run_data.h"

class QAction;
class QDialog;
class QMenu;
class QTabWidget;
class QTimer;
class QTreeView;
class QCustomPlot;

namespace moescope::gui {

class CompareView;
class HeatmapView;
class OverviewView;
class RunController;
class RunLoader;
class RunSetupPanel;
class TimelineView;

struct MainWindowOptions {
  std::string session_path;     // opened (created when missing) at start
  bool demo_when_empty = true;  // run the demo when that session has no runs (main() asks
                                // for it only on a first start with the default session)
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(const MainWindowOptions& options, QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens a session file (creating it when `create`); errors go to a dialog and return false.
  bool open_session(const QString& path, bool create = false);
  // Re-reads the runs of every open session whose file changed (another process writing).
  void refresh_changed_sessions();
  void reload_session(const std::string& path);

  // Closes a session in the window (the file stays as it is).
  void close_session(const std::string& path);

  void select_runs(const std::vector<RunRef>& runs, bool scroll = true);
  std::vector<RunRef> selected_runs() const;
  // Starts a run from the panel's current settings into the current session.
  bool start_run(bool compare);
  // Runs a stored run again (its policy beside a fresh baseline) into its session; errors go to
  // a dialog and return false.
  bool rerun(const RunRef& run);
  // Puts the run's stored setup (narrowed to its policy, as Run again runs it) into the
  // run-setup panel, to change and run; false (with an error shown) when it has none.
  bool load_setup(const RunRef& run);
  void cancel_run();
  void rename_run(const RunRef& run, const QString& name);
  void delete_runs(const std::vector<RunRef>& runs);

  // Exports (no dialogs: the menu actions ask for the path and call these).
  void export_current_chart(const QString& path, int width, int height, int dpi);
  void export_report(const QString& path);
  void export_data(const QString& path, const QString& format);  // csv, json, chrome-trace

  QString current_session() const;
  QString last_error() const { return last_error_; }
  // What main() found of the GPUs ("GPU 0: ...", or why none can be used), for the status bar
  // of a build with the CUDA backend.
  void set_gpu_status(const QString& status);
  // The run the single-run views show; it changes when a selected run has loaded (off the GUI
  // thread), not at the click.
  const viewdata::RunData* shown_run() const;
  // Whether a selected run is still loading.
  bool loading() const;
  RunsModel* runs_model() const { return runs_model_; }
  RunController* controller() const { return controller_; }
  RunSetupPanel* setup_panel() const { return panel_; }
  OverviewView* overview() const { return overview_; }
  HeatmapView* heatmap() const { return heatmap_; }
  TimelineView* timeline() const { return timeline_; }
  CompareView* compare() const { return compare_; }
  QTabWidget* tabs() const { return tabs_; }
  QCustomPlot* current_plot() const;

 signals:
  // After a run from the panel has been stored and shown (tests wait on it).
  void run_stored(QList<qint64> run_ids);
  void run_ended();
  // After every single-run view shows a newly selected run.
  void run_shown();

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void build_actions();
  void build_layout();
  void show_error(const QString& title, const QString& text);
  void on_selection_changed();
  void show_run(const RunRef& run);
  void apply_run(const RunRef& ref, std::shared_ptr<const viewdata::LoadedRun> run);
  void offer_compared_runs(const viewdata::LoadedRun& run);
  void show_compared_run(std::int64_t run_id);
  void add_recent(const QString& path);
  void update_recent_menu();
  void update_status_bar();
  void export_chart_dialog();
  void export_report_dialog();
  void export_data_dialog(const QString& format);
  void about();

  // What the session watcher compares: the file's and its write-ahead log's times and size.
  struct WatchedFile {
    std::string path;
    QDateTime db_time;
    QDateTime wal_time;
    qint64 wal_size = -1;
    bool operator==(const WatchedFile&) const = default;
  };
  static WatchedFile stamp(const std::string& path);

  RunsModel* runs_model_ = nullptr;
  QTreeView* tree_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  OverviewView* overview_ = nullptr;
  HeatmapView* heatmap_ = nullptr;
  TimelineView* timeline_ = nullptr;
  CompareView* compare_ = nullptr;
  RunSetupPanel* panel_ = nullptr;
  RunController* controller_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  QTimer* watch_timer_ = nullptr;
  std::vector<WatchedFile> watched_;
  RunLoader* loader_ = nullptr;
  QDialog* glossary_ = nullptr;  // made when first asked for
  std::shared_ptr<const viewdata::LoadedRun> shown_;
  std::optional<RunRef> shown_ref_;
  std::optional<RunRef> pending_ref_;  // selected, still loading
  bool views_pending_ = false;         // loaded, not yet in every view
  QString last_error_;
  QString gpu_status_;
};

}  // namespace moescope::gui
