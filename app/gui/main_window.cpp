#include "app/gui/main_window.h"

#include <algorithm>
#include <set>
#include <thread>

#include <qcustomplot.h>
#include <sqlite3.h>
#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QTreeView>

#include "app/charts/chart_export.h"
#include "app/charts/report_writer.h"
#include "app/gui/glossary_dialog.h"
#include "app/gui/run_controller.h"
#include "app/gui/run_loader.h"
#include "app/gui/run_setup_panel.h"
#include "app/gui/views/compare_view.h"
#include "app/gui/views/heatmap_view.h"
#include "app/gui/views/overview_view.h"
#include "app/gui/views/timeline_view.h"
#include "app/viewdata/load_cube.h"
#include "core/base/error.h"
#include "core/base/version.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"
#include "core/session/rerun.h"
#include "core/session/session_export.h"
#include "core/session/session_store.h"

namespace moescope::gui {
namespace {

constexpr int kMaxRecent = 8;

QString cpu_name() {
  QFile f("/proc/cpuinfo");
  if (f.open(QIODevice::ReadOnly)) {
    for (const QByteArray& line : f.readAll().split('\n')) {
      if (line.startsWith("model name"))
        return QString::fromUtf8(line.mid(line.indexOf(':') + 1)).trimmed();
    }
  }
  return QObject::tr("CPU");
}

}  // namespace

MainWindow::MainWindow(const MainWindowOptions& options, QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("MoEScope"));
  setAcceptDrops(true);
  runs_model_ = new RunsModel(this);
  controller_ = new RunController(this);
  loader_ = new RunLoader(this);
  build_layout();
  build_actions();

  connect(controller_, &RunController::busy_changed, panel_, &RunSetupPanel::set_busy);
  connect(controller_, &RunController::progress, panel_, &RunSetupPanel::set_progress);
  connect(controller_, &RunController::finished, this,
          [this](const QString& session, const QList<qint64>& ids) {
            reload_session(session.toStdString());
            panel_->set_status(tr("Stored %n run(s) in %1", nullptr, static_cast<int>(ids.size()))
                                   .arg(QFileInfo(session).fileName()));
            std::vector<RunRef> refs;
            for (auto id : ids)
              refs.push_back({session.toStdString(), id});
            // Show the policy run (the last one); select them all so Compare has them.
            select_runs(refs);
            emit run_stored(ids);
            emit run_ended();
          });
  connect(controller_, &RunController::failed, this,
          [this](const QString& session, const QString& message) {
            reload_session(session.toStdString());
            panel_->set_status(tr("Run failed"));
            show_error(tr("The run failed"),
                       message + tr("\n\nChange the setting it names in the run-setup panel and "
                                    "press Run again."));
            emit run_ended();
          });
  connect(controller_, &RunController::cancelled, this, [this](const QString& session) {
    reload_session(session.toStdString());
    panel_->set_status(tr("Cancelled: the runs it started are marked incomplete"));
    emit run_ended();
  });
  connect(panel_, &RunSetupPanel::run_clicked, this, [this](bool compare) { start_run(compare); });
  connect(panel_, &RunSetupPanel::cancel_clicked, this, &MainWindow::cancel_run);

  watch_timer_ = new QTimer(this);
  watch_timer_->setInterval(1000);
  connect(watch_timer_, &QTimer::timeout, this, &MainWindow::refresh_changed_sessions);
  watch_timer_->start();

  QSettings settings;
  panel_->restore_settings();
  restoreGeometry(settings.value("window/geometry").toByteArray());
  restoreState(settings.value("window/state").toByteArray());
  update_recent_menu();
  update_status_bar();

  if (!options.session_path.empty()) {
    // The tree keys sessions by absolute path; a relative path on the command line is made so.
    const QString path = QFileInfo(QString::fromStdString(options.session_path)).absoluteFilePath();
    if (open_session(path, /*create=*/true)) {
      const auto row = runs_model_->session_row(path.toStdString());
      const bool empty = row && runs_model_->run_count(*row) == 0;
      if (empty && options.demo_when_empty) {
        panel_->set_experiment(demo_experiment());
        panel_->set_status(tr("First start: making a demo comparison so the views have data…"));
        controller_->start(demo_experiment(), path.toStdString());
      } else if (row && !empty) {
        // The session's latest run, wherever the tree groups it.
        select_runs({{path.toStdString(), runs_model_->runs_of(path.toStdString()).back().id}});
      }
    }
  }
}

MainWindow::~MainWindow() = default;

void MainWindow::build_layout() {
  tree_ = new QTreeView(this);
  tree_->setModel(runs_model_);
  tree_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  tree_->setSelectionBehavior(QAbstractItemView::SelectRows);
  tree_->setUniformRowHeights(true);
  tree_->setAlternatingRowColors(true);
  tree_->header()->setSectionResizeMode(QHeaderView::Interactive);
  tree_->setToolTip(tr("Select one run to see it; select several (Ctrl/Shift-click) to compare"));
  connect(tree_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &MainWindow::on_selection_changed);
  auto* tree_dock = new QDockWidget(tr("Sessions and runs"), this);
  tree_dock->setObjectName("runs_dock");
  tree_dock->setWidget(tree_);
  addDockWidget(Qt::LeftDockWidgetArea, tree_dock);

  overview_ = new OverviewView(this);
  heatmap_ = new HeatmapView(this);
  timeline_ = new TimelineView(this);
  compare_ = new CompareView(this);
  // A trade-off point clicked: its run in the single-run views, the comparison kept.
  connect(compare_, &CompareView::run_clicked, this,
          [this](const std::string& session_path, std::int64_t run_id) {
            show_run(RunRef{session_path, run_id});
          });
  tabs_ = new QTabWidget(this);
  tabs_->addTab(overview_, tr("Overview"));
  tabs_->addTab(heatmap_, tr("Load heatmap"));
  tabs_->addTab(timeline_, tr("Straggler timeline"));
  tabs_->addTab(compare_, tr("Compare"));
  setCentralWidget(tabs_);

  // Selecting a cell or a span selects the same layer and expert everywhere.
  connect(heatmap_, &HeatmapView::cell_selected, this, [this](int layer, int expert) {
    overview_->select_layer(layer);
    timeline_->select_expert(layer, expert);
  });
  connect(timeline_, &TimelineView::span_selected, this, [this](int layer, int expert) {
    overview_->select_layer(layer);
    heatmap_->select_cell(layer, expert);
  });
  connect(timeline_, &TimelineView::compare_requested, this, &MainWindow::show_compared_run);
  connect(overview_, &OverviewView::layer_selected, this,
          [this](int layer) { timeline_->select_expert(layer, -1); });
  connect(overview_, &OverviewView::device_activated, this, [this](int layer, int expert) {
    tabs_->setCurrentWidget(timeline_);
    timeline_->select_expert(layer, expert);
  });

  panel_ = new RunSetupPanel(this);
  auto* panel_dock = new QDockWidget(tr("Run setup"), this);
  panel_dock->setObjectName("setup_dock");
  panel_dock->setWidget(panel_);  // it scrolls its settings and keeps its buttons in view
  addDockWidget(Qt::RightDockWidgetArea, panel_dock);
  resize(1600, 950);
  resizeDocks({tree_dock, panel_dock}, {380, 300}, Qt::Horizontal);
}

void MainWindow::build_actions() {
  auto add = [this](QMenu* menu, const QString& text, QKeySequence key, auto slot,
                    const QString& tip = {}) {
    auto* a = menu->addAction(text);
    a->setShortcut(key);
    a->setStatusTip(tip);
    a->setToolTip(tip);
    connect(a, &QAction::triggered, this, slot);
    return a;
  };
  QMenu* file = menuBar()->addMenu(tr("&File"));
  add(file, tr("&New session…"), QKeySequence::New, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("New session"), QString(),
                                                      tr("MoEScope sessions (*.moescope)"));
    if (!path.isEmpty()) open_session(path.endsWith(".moescope") ? path : path + ".moescope", true);
  });
  add(file, tr("&Open session…"), QKeySequence::Open, [this] {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open session"), QString(), tr("MoEScope sessions (*.moescope);;All files (*)"));
    if (!path.isEmpty()) open_session(path);
  });
  recent_menu_ = file->addMenu(tr("Open &recent"));
  add(
      file, tr("C&lose session"), QKeySequence::Close,
      [this] {
        const QString session = current_session();
        if (!session.isEmpty()) close_session(session.toStdString());
      },
      tr("Close the session of the selected run (the file stays as it is)"));
  file->addSeparator();
  add(
      file, tr("Export &chart…"), QKeySequence(tr("Ctrl+E")), [this] { export_chart_dialog(); },
      tr("Save the chart of the current view as PNG or PDF"));
  add(
      file, tr("Export &report…"), QKeySequence(tr("Ctrl+Shift+E")),
      [this] { export_report_dialog(); },
      tr("A report of the selected runs as HTML, PDF or Markdown"));
  add(file, tr("Export run as C&SV…"), QKeySequence(), [this] { export_data_dialog("csv"); });
  add(
      file, tr("Export run as Chrome &trace…"), QKeySequence(),
      [this] { export_data_dialog("chrome-trace"); },
      tr("Open it in Perfetto UI or chrome://tracing"));
  file->addSeparator();
  add(file, tr("&Quit"), QKeySequence::Quit, [this] { close(); });

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  add(run, tr("&Run"), QKeySequence(tr("Ctrl+R")), [this] { start_run(false); });
  add(run, tr("&Compare policies"), QKeySequence(tr("Ctrl+Shift+R")), [this] { start_run(true); });
  // Enabled only while a run is going: otherwise Esc belongs to the focused view (the
  // timeline clears its selected window with it).
  QAction* cancel = add(run, tr("C&ancel"), QKeySequence(Qt::Key_Escape), [this] { cancel_run(); });
  cancel->setEnabled(controller_->busy());
  connect(controller_, &RunController::busy_changed, cancel, &QAction::setEnabled);
  run->addSeparator();
  QAction* again = add(
      run, tr("Run &again"), QKeySequence(tr("Ctrl+Shift+A")),
      [this] {
        const auto runs = selected_runs();
        if (runs.size() == 1) rerun(runs.front());
      },
      tr("Run the selected run again from its stored setup, beside a fresh baseline"));
  QAction* load = add(
      run, tr("&Load setup into the panel"), QKeySequence(tr("Ctrl+Shift+L")),
      [this] {
        const auto runs = selected_runs();
        if (runs.size() == 1) load_setup(runs.front());
      },
      tr("Put the selected run's setup into the run-setup panel, to change it and run"));
  QAction* rename = add(run, tr("Re&name run…"), QKeySequence(Qt::Key_F2), [this] {
    const auto runs = selected_runs();
    if (runs.size() != 1) return;
    const StoredRun* stored = runs_model_->stored_run(runs.front());
    bool ok = false;
    const QString name =
        QInputDialog::getText(this, tr("Rename run"), tr("Name"), QLineEdit::Normal,
                              QString::fromStdString(stored ? stored->name : ""), &ok);
    if (ok) rename_run(runs.front(), name);
  });
  QAction* remove = add(run, tr("&Delete runs"), QKeySequence::Delete, [this] {
    const auto runs = selected_runs();
    if (runs.empty()) return;
    QString question = tr("Delete %n run(s) and their data from the session file?", nullptr,
                          static_cast<int>(runs.size()));
    // A deleted baseline leaves its policy runs' speedups without their reference run.
    const auto dependents = runs_model_->measured_against(runs);
    if (!dependents.empty()) {
      QStringList ids;
      for (const auto& d : dependents)
        ids << QString::number(d.run_id);
      question += "\n\n" + tr("%n other run(s) measure their speedup against a baseline being "
                              "deleted (%1). They keep their stored speedups but lose the "
                              "link to the run those were measured against.",
                              nullptr, static_cast<int>(dependents.size()))
                               .arg(ids.join(", "));
    }
    if (QMessageBox::question(this, tr("Delete runs"), question) == QMessageBox::Yes)
      delete_runs(runs);
  });
  tree_->setContextMenuPolicy(Qt::ActionsContextMenu);
  tree_->addActions({again, load, rename, remove});

  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (int i = 0; i < tabs_->count(); ++i) {
    add(view, tabs_->tabText(i), QKeySequence(QString("Ctrl+%1").arg(i + 1)),
        [this, i] { tabs_->setCurrentIndex(i); });
  }
  view->addSeparator();
  add(view, tr("Re&load sessions"), QKeySequence::Refresh, [this] {
    for (int i = 0; i < runs_model_->session_count(); ++i)
      reload_session(runs_model_->session_path(i));
  });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  add(help, tr("Metric &glossary"), QKeySequence::HelpContents, [this] {
    if (glossary_ == nullptr) glossary_ = make_glossary_dialog(this);
    glossary_->show();
    glossary_->raise();
  });
  add(help, tr("&About MoEScope"), QKeySequence(), [this] { about(); });
}

void MainWindow::show_error(const QString& title, const QString& text) {
  last_error_ = text;
  // Not modal-blocking: the window keeps working while the dialog is up.
  auto* box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

bool MainWindow::open_session(const QString& path, bool create) {
  const std::string p = QFileInfo(path).absoluteFilePath().toStdString();
  try {
    std::vector<StoredRun> runs;
    {
      SessionStore store(p, create ? SessionStore::Access::kWrite : SessionStore::Access::kRead);
      runs = store.runs();
    }
    const int row = runs_model_->set_session(p, std::move(runs));
    tree_->expandRecursively(runs_model_->index(row, 0));
    for (int c = 0; c < RunsModel::kColumnCount; ++c)
      tree_->resizeColumnToContents(c);
    if (std::none_of(watched_.begin(), watched_.end(), [&](const auto& w) { return w.path == p; }))
      watched_.push_back(stamp(p));
    add_recent(QString::fromStdString(p));
    update_status_bar();
    panel_->set_target_session(current_session());
    return true;
  } catch (const std::exception& e) {
    show_error(tr("Cannot open the session"),
               QString::fromStdString(e.what()) +
                   tr("\n\nThe file was not changed. Open another session file, or make a new one "
                      "with File → New session."));
    return false;
  }
}

MainWindow::WatchedFile MainWindow::stamp(const std::string& path) {
  const QString q = QString::fromStdString(path);
  const QFileInfo db(q);
  const QFileInfo wal(q + "-wal");
  return {path, db.lastModified(), wal.lastModified(), wal.exists() ? wal.size() : -1};
}

void MainWindow::reload_session(const std::string& path) {
  if (!runs_model_->session_row(path)) return;
  // Stamp first: a file that went bad is reported once, not on every tick of the watcher.
  for (auto& w : watched_) {
    if (w.path == path) w = stamp(path);
  }
  const auto selected = selected_runs();
  loader_->forget(path);  // a run may have completed, been renamed or deleted
  try {
    SessionStore store(path, SessionStore::Access::kRead);
    runs_model_->set_session(path, store.runs());
  } catch (const std::exception& e) {
    show_error(tr("Cannot read the session"),
               QString::fromStdString(e.what()) +
                   tr("\n\nThe runs shown are as last read. Close the session (File → Close "
                      "session) or restore the file."));
    return;
  }
  tree_->expandRecursively(runs_model_->index(*runs_model_->session_row(path), 0));
  // New runs (the first-start demo) may need a wider name column; never narrowed here, so a
  // width the user chose stays unless a name needs more.
  const int name_width = tree_->columnWidth(RunsModel::kName);
  tree_->resizeColumnToContents(RunsModel::kName);
  if (tree_->columnWidth(RunsModel::kName) < name_width)
    tree_->setColumnWidth(RunsModel::kName, name_width);
  select_runs(selected, /*scroll=*/false);
}

void MainWindow::refresh_changed_sessions() {
  if (controller_->busy()) return;  // our own run writes; reloaded when it ends
  for (const auto& w : std::vector<WatchedFile>(watched_)) {
    if (!(stamp(w.path) == w)) reload_session(w.path);
  }
}

void MainWindow::close_session(const std::string& path) {
  loader_->forget(path);
  if (shown_ref_ && shown_ref_->session_path == path) {
    views_pending_ = false;
    shown_.reset();
    shown_ref_.reset();
    overview_->show_run(nullptr);
    overview_->show_devices(nullptr);
    heatmap_->clear();
    timeline_->clear();
  }
  runs_model_->remove_session(path);
  std::erase_if(watched_, [&](const WatchedFile& w) { return w.path == path; });
  on_selection_changed();
  update_status_bar();
}

void MainWindow::select_runs(const std::vector<RunRef>& runs, bool scroll) {
  QItemSelection selection;
  for (const auto& ref : runs) {
    const QModelIndex i = runs_model_->index_of(ref);
    if (!i.isValid()) continue;
    selection.select(i, i.siblingAtColumn(RunsModel::kColumnCount - 1));
  }
  tree_->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
  if (!runs.empty()) {
    const QModelIndex last = runs_model_->index_of(runs.back());
    if (last.isValid()) {
      tree_->selectionModel()->setCurrentIndex(last, QItemSelectionModel::NoUpdate);
      if (scroll) tree_->scrollTo(last);
    }
  }
}

std::vector<RunRef> MainWindow::selected_runs() const {
  std::vector<RunRef> out;
  // A comparison or sweep node stands for all its runs.
  for (const QModelIndex& i : tree_->selectionModel()->selectedRows()) {
    for (const RunRef& ref : runs_model_->runs_under(i)) {
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(ref);
    }
  }
  // Tree order: session, then run id.
  std::sort(out.begin(), out.end(), [this](const RunRef& a, const RunRef& b) {
    const int sa = runs_model_->session_row(a.session_path).value_or(0);
    const int sb = runs_model_->session_row(b.session_path).value_or(0);
    return sa != sb ? sa < sb : a.run_id < b.run_id;
  });
  return out;
}

void MainWindow::on_selection_changed() {
  panel_->set_target_session(current_session());
  const auto runs = selected_runs();
  if (runs.empty()) {
    compare_->show_runs({});
    return;
  }
  // The current item is the one the user clicked last; show it in the single-run views.
  const auto current = runs_model_->run_at(tree_->selectionModel()->currentIndex());
  const RunRef shown = current && std::find(runs.begin(), runs.end(), *current) != runs.end()
                           ? *current
                           : runs.back();
  const bool already = pending_ref_ ? *pending_ref_ == shown : shown_ref_ && *shown_ref_ == shown;
  if (!already) show_run(shown);
  // Compare's summaries load beside the shown run; what was read before is reused.
  loader_->load_summaries(
      runs,
      [this](std::vector<std::shared_ptr<const viewdata::RunData>> loaded) {
        std::vector<viewdata::RunData> compared;
        for (const auto& summary : loaded)
          compared.push_back(*summary);
        compare_->show_runs(std::move(compared));
      },
      [this](const QString& message) { show_error(tr("Cannot read the runs"), message); });
}

void MainWindow::offer_compared_runs(const viewdata::LoadedRun& run) {
  // A/B in the timeline: any other run of the same session, its baseline first offered.
  std::vector<std::pair<std::int64_t, QString>> choices;
  for (const StoredRun& stored : runs_model_->runs_of(run.data.session_path)) {
    if (stored.id == run.data.run.id) continue;
    choices.emplace_back(
        stored.id, QString("%1 (#%2)").arg(QString::fromStdString(stored.name)).arg(stored.id));
  }
  timeline_->set_compare_choices(choices, run.data.run.baseline_run);
}

void MainWindow::show_compared_run(std::int64_t run_id) {
  if (run_id < 0 || !shown_ref_) return;
  const RunRef ref{shown_ref_->session_path, run_id};
  loader_->load_compared_run(
      ref,
      [this, run_id](std::shared_ptr<const viewdata::LoadedRun> run) {
        if (timeline_->compared_run_id() == run_id) timeline_->show_compared(run);
      },
      [this](const QString& message) {
        timeline_->show_compared(nullptr);
        show_error(tr("Cannot show the run to compare with"), message);
      });
}

void MainWindow::show_run(const RunRef& ref) {
  pending_ref_ = ref;
  statusBar()->showMessage(tr("Loading run %1…").arg(ref.run_id));
  loader_->load_run(
      ref, [this, ref](std::shared_ptr<const viewdata::LoadedRun> run) { apply_run(ref, run); },
      [this](const QString& message) {
        pending_ref_.reset();
        statusBar()->clearMessage();
        show_error(tr("Cannot show the run"), message);
      });
}

void MainWindow::apply_run(const RunRef& ref, std::shared_ptr<const viewdata::LoadedRun> run) {
  pending_ref_.reset();
  statusBar()->clearMessage();
  shown_ = run;
  shown_ref_ = ref;
  // Read and built off this thread; here each view only swaps in what it shows, one view per
  // turn of the event loop, so that the window never stops answering for longer than a frame.
  // A stage whose run is no longer the shown one does nothing.
  views_pending_ = true;
  overview_->show_run(&run->data);
  overview_->show_devices(nullptr);  // never the previous run's devices under this run's name
  QTimer::singleShot(0, this, [this, run] {
    if (shown_ != run) return;
    if (run->cube) {
      heatmap_->set_run_name(QString::fromStdString(run->data.display_name()));
      heatmap_->show_loads(run->cube);
      if (run->slot_cube) heatmap_->show_slots(run->slot_cube, run->slot_expert);
    } else {
      // The loads and the spans were read apart, so one damaged table hides only its own view.
      heatmap_->clear();
      show_error(tr("Cannot show the expert loads"),
                 QString::fromStdString(run->cube_error) +
                     tr("\n\nThe other views show the run; export it as CSV to inspect it."));
    }
    QTimer::singleShot(0, this, [this, run] {
      if (shown_ != run) return;
      overview_->show_devices(run->timeline);
      if (run->timeline) {
        timeline_->show_loaded(run);
        offer_compared_runs(*run);
      } else {
        timeline_->clear();
        show_error(tr("Cannot show the timeline"), QString::fromStdString(run->timeline_error));
      }
      views_pending_ = false;
      emit run_shown();
    });
  });
}

bool MainWindow::loading() const {
  return loader_->busy() || pending_ref_.has_value() || views_pending_;
}

const viewdata::RunData* MainWindow::shown_run() const {
  return shown_ ? &shown_->data : nullptr;
}

QString MainWindow::current_session() const {
  const auto runs = selected_runs();
  if (!runs.empty()) return QString::fromStdString(runs.back().session_path);
  const QModelIndex current = tree_->selectionModel()->currentIndex();
  if (current.isValid() && !current.parent().isValid())
    return QString::fromStdString(runs_model_->session_path(current.row()));
  if (runs_model_->session_count() > 0)
    return QString::fromStdString(runs_model_->session_path(runs_model_->session_count() - 1));
  return {};
}

bool MainWindow::start_run(bool compare) {
  if (controller_->busy()) return false;
  Experiment experiment;
  try {
    experiment = panel_->experiment(compare);
  } catch (const std::exception& e) {
    show_error(tr("Check the run setup"), QString::fromStdString(e.what()));
    return false;
  }
  if (current_session().isEmpty() &&
      !open_session(QString::fromStdString(default_session_path()), true))
    return false;
  panel_->save_settings();
  return controller_->start(experiment, current_session().toStdString());
}

bool MainWindow::rerun(const RunRef& ref) {
  if (controller_->busy()) return false;
  Experiment experiment;
  try {
    SessionStore store(ref.session_path, SessionStore::Access::kRead);
    experiment = rerun_experiment(store.run(ref.run_id));
  } catch (const std::exception& e) {
    show_error(tr("Cannot run it again"), QString::fromStdString(e.what()));
    return false;
  }
  panel_->set_status(tr("Running run %1 again…").arg(ref.run_id));
  return controller_->start(experiment, ref.session_path);
}

bool MainWindow::load_setup(const RunRef& ref) {
  Experiment experiment;
  try {
    SessionStore store(ref.session_path, SessionStore::Access::kRead);
    experiment = rerun_experiment(store.run(ref.run_id));
  } catch (const std::exception& e) {
    show_error(tr("Cannot load the run's setup"), QString::fromStdString(e.what()));
    return false;
  }
  panel_->set_experiment(experiment);
  panel_->set_status(
      tr("The setup of run %1 is in the panel: change it and press Run.").arg(ref.run_id));
  return true;
}

void MainWindow::cancel_run() {
  if (!controller_->busy()) return;
  panel_->set_status(tr("Cancelling…"));
  controller_->cancel();
}

void MainWindow::rename_run(const RunRef& run, const QString& name) {
  try {
    SessionStore store(run.session_path, SessionStore::Access::kWrite);
    store.rename_run(run.run_id, name.toStdString());
  } catch (const std::exception& e) {
    show_error(tr("Cannot rename the run"), QString::fromStdString(e.what()));
    return;
  }
  shown_ref_.reset();  // show the new name
  reload_session(run.session_path);
}

void MainWindow::delete_runs(const std::vector<RunRef>& runs) {
  std::set<std::string> sessions;
  try {
    for (const auto& run : runs) {
      SessionStore store(run.session_path, SessionStore::Access::kWrite);
      store.remove_run(run.run_id);
      sessions.insert(run.session_path);
    }
  } catch (const std::exception& e) {
    show_error(tr("Cannot delete the run"), QString::fromStdString(e.what()));
  }
  if (shown_ref_ && std::find(runs.begin(), runs.end(), *shown_ref_) != runs.end()) {
    pending_ref_.reset();
    views_pending_ = false;
    shown_.reset();
    shown_ref_.reset();
    overview_->show_run(nullptr);
    overview_->show_devices(nullptr);
    heatmap_->clear();
    timeline_->clear();
    compare_->show_runs({});
  }
  for (const auto& s : sessions)
    reload_session(s);
}

QCustomPlot* MainWindow::current_plot() const {
  QWidget* page = tabs_->currentWidget();
  if (page == heatmap_) return heatmap_->plot();
  if (page == timeline_) return timeline_->plot();
  if (page == compare_) return compare_->current_plot();
  return nullptr;
}

void MainWindow::export_current_chart(const QString& path, int width, int height, int dpi) {
  QCustomPlot* plot = current_plot();
  if (plot == nullptr)
    throw Error("the Overview has no chart; switch to the heatmap, timeline or Compare view");
  charts::ChartExportOptions options;
  options.width = width;
  options.height = height;
  options.dpi = dpi;
  charts::export_chart(*plot, path, options);
}

void MainWindow::export_report(const QString& path) {
  const auto runs = selected_runs();
  if (runs.empty()) throw Error("select one or more runs in the tree for the report");
  std::vector<viewdata::RunData> report_runs;
  for (const auto& ref : runs) {
    SessionStore store(ref.session_path, SessionStore::Access::kRead);
    report_runs.push_back(viewdata::load_run_data(store, ref.run_id));
  }
  charts::ReportOptions options;
  options.tool_version = version();
  charts::write_report(report_runs, path, options);
}

void MainWindow::export_data(const QString& path, const QString& format) {
  if (!shown_ref_) throw Error("select a run in the tree to export");
  SessionStore store(shown_ref_->session_path, SessionStore::Access::kRead);
  export_run(store, shown_ref_->run_id, parse_export_format(format.toStdString()),
             path.toStdString());
}

void MainWindow::export_chart_dialog() {
  QCustomPlot* plot = current_plot();
  if (plot == nullptr) {
    show_error(tr("Nothing to export"),
               tr("The Overview has no chart. Switch to Load heatmap, Straggler timeline or "
                  "Compare and export again."));
    return;
  }
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Export chart"));
  auto* width = new QSpinBox(&dialog);
  width->setRange(100, 10000);
  width->setValue(std::max(plot->width(), 800));
  auto* height = new QSpinBox(&dialog);
  height->setRange(100, 10000);
  height->setValue(std::max(plot->height(), 500));
  auto* dpi = new QSpinBox(&dialog);
  dpi->setRange(72, 600);
  dpi->setValue(96);
  dpi->setToolTip(tr("PNG only: 96 is the screen; 300 for print (the image gets larger)"));
  auto* form = new QFormLayout(&dialog);
  form->addRow(tr("Width (px at 96 DPI)"), width);
  form->addRow(tr("Height (px at 96 DPI)"), height);
  form->addRow(tr("PNG resolution (DPI)"), dpi);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return;
  const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"), "chart.png",
                                                    tr("PNG image (*.png);;PDF, vector (*.pdf)"));
  if (path.isEmpty()) return;
  try {
    export_current_chart(path, width->value(), height->value(), dpi->value());
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
  } catch (const std::exception& e) {
    show_error(tr("Export failed"), QString::fromStdString(e.what()));
  }
}

void MainWindow::export_report_dialog() {
  if (selected_runs().empty()) {
    show_error(tr("Nothing to report"), tr("Select one or more runs in the tree first."));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(
      this, tr("Export report"), "report.html",
      tr("HTML, self-contained (*.html);;PDF (*.pdf);;Markdown with PNGs (*.md)"));
  if (path.isEmpty()) return;
  try {
    export_report(path);
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
  } catch (const std::exception& e) {
    show_error(tr("Export failed"), QString::fromStdString(e.what()));
  }
}

void MainWindow::export_data_dialog(const QString& format) {
  const QString suggested = format == "csv" ? "run.csv" : "run.trace.json";
  const QString path = QFileDialog::getSaveFileName(this, tr("Export run"), suggested);
  if (path.isEmpty()) return;
  try {
    export_data(path, format);
    statusBar()->showMessage(tr("Saved %1").arg(path), 5000);
  } catch (const std::exception& e) {
    show_error(tr("Export failed"), QString::fromStdString(e.what()));
  }
}

void MainWindow::add_recent(const QString& path) {
  QSettings settings;
  QStringList recent = settings.value("sessions/recent").toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > kMaxRecent)
    recent.removeLast();
  settings.setValue("sessions/recent", recent);
  update_recent_menu();
}

void MainWindow::update_recent_menu() {
  recent_menu_->clear();
  const QStringList recent = QSettings().value("sessions/recent").toStringList();
  for (const QString& path : recent) {
    QAction* a = recent_menu_->addAction(QFileInfo(path).fileName());
    a->setToolTip(path);
    a->setStatusTip(path);
    connect(a, &QAction::triggered, this, [this, path] { open_session(path); });
  }
  recent_menu_->setEnabled(!recent.isEmpty());
}

void MainWindow::set_gpu_status(const QString& status) {
  gpu_status_ = status;
  update_status_bar();
}

void MainWindow::update_status_bar() {
  QStringList backends;
  for (const auto& name : backend_names())
    backends << QString::fromStdString(name);
  QString text = tr("Backends: %1  ·  CPU: %2 (%3 threads)")
                     .arg(backends.join(", "), cpu_name())
                     .arg(std::max(1U, std::thread::hardware_concurrency()));
  if (!backends.contains("cuda")) {
    text += tr("  ·  no CUDA backend in this build");
  } else if (!gpu_status_.isEmpty()) {
    text += "  ·  " + gpu_status_;
  }
  statusBar()->showMessage(text);
}

void MainWindow::about() {
  QMessageBox::about(
      this, tr("About MoEScope"),
      tr("<h3>MoEScope %1</h3><p>Sees and fixes the straggler effect in Mixture-of-Experts "
         "inference: capacity-aware token drop, expanded drop and reroute (arXiv 2503.05066).</p>"
         "<p>Qt %2 · QCustomPlot %3 · SQLite %4</p>")
          .arg(QString::fromUtf8(version()), qVersion(), QStringLiteral(QCUSTOMPLOT_VERSION_STR),
               sqlite3_libversion()));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (controller_->busy()) {
    controller_->cancel();
    controller_->wait();
  }
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  panel_->save_settings();
  event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    if (url.isLocalFile()) open_session(url.toLocalFile());
  }
  event->acceptProposedAction();
}

}  // namespace moescope::gui
