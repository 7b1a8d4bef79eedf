// The Straggler timeline view: one run's spans per device (and per expert when expanded), the
// time each device idles waiting for the layer's straggler, and the critical path; optionally a
// second run under it (A/B) on the same, lockable time axis, each layer marked with what the
// shown run saves against the other. Switching runs keeps the time window; Zoom to fit (F)
// fits. Keys: W/S zoom, A/D pan, up/down scroll lanes, Esc clears the selected window.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <QPoint>
#include <QString>
#include <QWidget>

#include "app/charts/timeline_plottable.h"
#include "app/viewdata/loaded_run.h"
#include "core/session/session_store.h"
#include "profiler/event.h"

class QAction;
class QCheckBox;
class QComboBox;
class QCustomPlot;
class QKeyEvent;
class QLabel;

namespace moescope::gui {

class TimelineChart;

class TimelineView : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineView(QWidget* parent = nullptr);
  ~TimelineView() override;

  // `timing` is the run's: "measured" or "composed". Throws Error on a corrupt trace.
  void show_run(const std::vector<profiler::Event>& events, const std::vector<LayerStatRow>& layers,
                const std::string& timing);
  // Shows lanes built elsewhere (off the GUI thread); shared, not copied.
  void show_timeline(std::shared_ptr<const viewdata::TimelineData> lanes,
                     const std::string& timing);
  // A loaded run: its lanes, loads (rows in tooltips, colouring by load), name and statistics.
  void show_loaded(std::shared_ptr<const viewdata::LoadedRun> run);
  void clear();

  // The runs A/B can compare with (the shown run's session), by id, and the one to pick first
  // (the shown run's baseline); the choice is kept when it is still offered.
  void set_compare_choices(const std::vector<std::pair<std::int64_t, QString>>& runs,
                           std::optional<std::int64_t> preferred);
  // The run chosen to compare with has loaded; null clears the lower chart.
  void show_compared(std::shared_ptr<const viewdata::LoadedRun> run);
  std::optional<std::int64_t> compared_run_id() const;
  void set_axes_locked(bool locked);
  bool axes_locked() const;

  // Outlines that expert's spans in that model layer (every step; expert -1 outlines none) and
  // brings the layer's first step into view.
  void select_expert(int layer, int expert);
  void zoom_to_fit();
  void set_experts_expanded(bool expanded);
  bool experts_expanded() const;
  void set_coloring(charts::SpanColoring coloring);

  TimelineChart* chart() { return chart_; }
  TimelineChart* compared_chart() { return compared_chart_; }
  QCustomPlot* plot();
  charts::TimelinePlottable* timeline();
  // What the hover tooltip says at a point of plot() (widget coordinates); empty over nothing.
  QString details_at(const QPoint& pos) const;
  // The selected window's totals as shown under the toolbar.
  QString area_text() const;

 signals:
  void span_selected(int layer, int expert);
  // The user chose a run to compare with (-1: none): load it and call show_compared.
  void compare_requested(std::int64_t run_id);

 protected:
  void keyPressEvent(QKeyEvent* event) override;

 private:
  void show_main(std::shared_ptr<const viewdata::TimelineData> lanes,
                 std::shared_ptr<const viewdata::LoadCube> loads, const std::string& timing,
                 const QString& name, std::vector<LayerStatRow> layers);
  void on_compare_choice();
  void update_extents();
  void update_layer_notes();
  void sync_window(TimelineChart* from);
  void update_area_label();

  TimelineChart* chart_ = nullptr;
  TimelineChart* compared_chart_ = nullptr;
  QAction* zoom_action_ = nullptr;
  QAction* expand_action_ = nullptr;
  QComboBox* coloring_box_ = nullptr;
  QComboBox* compare_box_ = nullptr;
  QCheckBox* lock_box_ = nullptr;
  QLabel* area_label_ = nullptr;
  std::vector<LayerStatRow> layers_;           // the shown run's statistics
  std::vector<LayerStatRow> compared_layers_;  // the compared run's
  bool syncing_ = false;
  bool nothing_chosen_ = false;  // the user chose "(nothing)" to compare with
};

}  // namespace moescope::gui
