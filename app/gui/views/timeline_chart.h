// One run's straggler timeline on one plot, with what a user does on it: hovering tells what a
// span, a fold or an idle block is (rows, capacity, duration); a click selects an expert; a
// drag pans, kept on the run; the wheel zooms time; Shift+drag selects a time window and totals
// what each device did in it; W/A/S/D zoom and pan like Perfetto. The Straggler timeline view
// stacks two of these for A/B.
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

class QCustomPlot;
class QMouseEvent;

namespace moescope::gui {

class TimelineChart : public QWidget {
  Q_OBJECT

 public:
  explicit TimelineChart(QWidget* parent = nullptr);

  // Shows a run's lanes (shared, not copied), the whole run in view.
  void show_data(std::shared_ptr<const viewdata::TimelineData> lanes,
                 std::shared_ptr<const viewdata::LoadCube> loads, const std::string& timing,
                 const QString& run_name);
  // How the run's capacities are read in tooltips: "global", "source" or "device".
  void set_capacity_scope(const std::string& scope);
  // The time window in µs since the run's start, kept on the run (see set_time_extent).
  void set_window(double lower_us, double upper_us);
  std::pair<double, double> window() const;
  // No run: the message instead of lanes.
  void show_message(const QString& message);

  QCustomPlot* plot() { return plot_; }
  charts::TimelinePlottable* timeline() { return timeline_; }
  const charts::TimelinePlottable* timeline() const { return timeline_; }
  bool has_run() const { return timeline_ != nullptr && !timeline_->data().empty(); }
  const std::string& timing() const { return timing_; }

  void set_expanded(bool expanded);
  void set_coloring(charts::SpanColoring coloring);
  // Outlines an expert's spans in a model layer (expert -1: none) and brings the layer's first
  // step into view, centred, keeping the zoom when the layer fits in it.
  void select_expert(int layer, int expert);

  void zoom_to_fit();
  // Keyboard navigation: W/S zoom by `factor` about the window's centre, A/D pan by a fraction
  // of the window, up/down scroll the lanes when they do not all fit.
  void zoom_by(double factor);
  void pan_by(double window_fraction);
  void scroll_rows(int rows);
  // The time the view may pan over, in ns: the run's own by default; the A/B view widens it to
  // both runs so that one window can show either.
  void set_time_extent(std::int64_t start_ns, std::int64_t end_ns);

  // The selected time window in ns (shaded), and what each device did in it; t1 <= t0 clears.
  void select_area(std::int64_t t0_ns, std::int64_t t1_ns);
  std::optional<std::pair<std::int64_t, std::int64_t>> area() const;
  // The totals as the view shows them under the toolbar; empty without an area.
  QString area_text() const;

  // What the hover tooltip says at a point of plot() (widget coordinates); empty over nothing.
  QString details_at(const QPoint& pos) const;

 signals:
  void span_selected(int layer, int expert);
  void area_changed();
  void time_window_changed(double lower_us, double upper_us);

 private:
  void replot();
  void clamp_window();
  void fit_rows();
  void on_mouse_move(QMouseEvent* event);
  void on_mouse_press(QMouseEvent* event);
  void on_mouse_release(QMouseEvent* event);
  std::int64_t ns_at(int x) const;
  std::int64_t area_ns_at(int x) const;
  charts::SpanColoring effective_coloring() const;

  QCustomPlot* plot_ = nullptr;
  charts::TimelinePlottable* timeline_ = nullptr;  // owned by plot_
  std::string timing_;
  std::string capacity_scope_ = "global";
  std::optional<charts::SpanColoring> coloring_;  // the user's choice; unset: the run's default
  bool expanded_ = false;
  std::int64_t extent_start_ns_ = 0;
  std::int64_t extent_end_ns_ = 0;
  QPoint press_pos_;
  bool selecting_area_ = false;
  std::int64_t area_anchor_ns_ = 0;
  bool clamping_ = false;
};

}  // namespace moescope::gui
