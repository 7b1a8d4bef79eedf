// The Straggler timeline view: one run's spans per device (and per expert when expanded), the
// time each device idles waiting for the layer's straggler, and the critical path. The wheel
// zooms time, a drag pans it, hovering tells what a span or fold is, a click selects an expert.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <QPoint>
#include <QString>
#include <QWidget>

#include "core/session/session_store.h"
#include "profiler/event.h"

class QAction;
class QCustomPlot;
class QMouseEvent;

namespace moescope::viewdata {
class TimelineData;
}  // namespace moescope::viewdata
namespace moescope::charts {
class TimelinePlottable;
}  // namespace moescope::charts

namespace moescope::gui {

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
  void clear();
  // Outlines that expert's spans in that model layer (every step; expert -1 outlines none) and
  // brings the layer's first step into view.
  void select_expert(int layer, int expert);
  void zoom_to_fit();
  void set_experts_expanded(bool expanded);
  bool experts_expanded() const;

  QCustomPlot* plot();
  charts::TimelinePlottable* timeline();
  // What the hover tooltip says at a point of plot() (widget coordinates); empty over nothing.
  QString details_at(const QPoint& pos) const;

 signals:
  void span_selected(int layer, int expert);

 private:
  void show_data(std::shared_ptr<const viewdata::TimelineData> timeline_data,
                 const std::string& timing);
  void on_mouse_move(QMouseEvent* event);
  void on_mouse_press(QMouseEvent* event);
  void on_mouse_release(QMouseEvent* event);

  QCustomPlot* plot_ = nullptr;
  charts::TimelinePlottable* timeline_ = nullptr;  // owned by plot_
  QAction* zoom_action_ = nullptr;
  QAction* expand_action_ = nullptr;
  std::string timing_;
  QPoint press_pos_;
};

}  // namespace moescope::gui
