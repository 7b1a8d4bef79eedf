// The straggler timeline drawn by one QCustomPlot plottable over viewdata::TimelineData: a
// QCPItemRect per span is a QObject each and stops scaling at a few thousand, while this draws only
// what the level-of-detail folding leaves, so a frame costs about its pixels, not its spans. Keys
// are microseconds since the run's start; values are rows, top to bottom.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <qcustomplot.h>
#include <QImage>
#include <QString>

#include "app/viewdata/load_cube.h"
#include "app/viewdata/timeline_spans.h"

namespace moescope::charts {

// How expert spans are coloured: a hue per expert reads well up to a dozen experts; past that
// the device that ran them, or their load against the layer's mean, says more.
enum class SpanColoring { kByExpert, kByDevice, kByLoad };
QString coloring_name(SpanColoring coloring);  // "expert", "device", "load"

// An expert's rows in one (step, layer), from the run's loads.
struct ExpertRows {
  std::int32_t routed = 0;
  std::int32_t kept = 0;
  double kept_over_mean = 0;  // kept rows over the mean kept rows of the layer's experts
};

// What the last frame drew at a point of the plot.
struct TimelineHit {
  int lane = -1;
  viewdata::DrawItem item;
};

class TimelinePlottable : public QCPAbstractPlottable {
  Q_OBJECT

 public:
  TimelinePlottable(QCPAxis* key_axis, QCPAxis* value_axis);

  void set_data(std::shared_ptr<const viewdata::TimelineData> data);
  const viewdata::TimelineData& data() const { return *data_; }

  // Expanded: each device lane followed by one sub-lane per expert it ran.
  void set_expanded(bool expanded);
  bool expanded() const { return expanded_; }
  const std::vector<int>& rows() const { return rows_; }  // lane of each row
  int row_of_lane(int lane) const;

  // Outlines one expert's spans in every step of one model layer; expert -1 clears.
  void set_highlight(int layer, int expert);

  // The run's loads (null: none), for colouring by load and for the rows in tooltips.
  void set_loads(std::shared_ptr<const viewdata::LoadCube> loads);
  bool has_loads() const { return loads_ != nullptr; }
  // The rows of an expert in a timeline layer slot; nullopt without loads for it.
  std::optional<ExpertRows> rows_of(int layer_slot, int expert) const;
  void set_coloring(SpanColoring coloring) { coloring_ = coloring; }
  SpanColoring coloring() const { return coloring_; }
  // The colour a span is drawn in under the current colouring.
  QColor color_of(const viewdata::TimelineSpan& span, int device) const;

  // Per layer slot, a short note drawn with the layer's name on the top axis (the A/B view's
  // saving); empty: none.
  void set_layer_notes(std::vector<QString> notes) { layer_notes_ = std::move(notes); }
  const std::vector<QString>& layer_notes() const { return layer_notes_; }

  // A time window shaded as selected (t1 <= t0: none).
  void set_area(std::int64_t t0_ns, std::int64_t t1_ns);
  std::pair<std::int64_t, std::int64_t> area() const { return {area_t0_, area_t1_}; }

  // The item of the last frame under (key in µs, value in rows), within `tolerance_px`.
  std::optional<TimelineHit> item_at(double key, double value, double tolerance_px = 2) const;

  double selectTest(const QPointF& pos, bool only_selectable,
                    QVariant* details = nullptr) const override;
  QCPRange getKeyRange(bool& found_range,
                       QCP::SignDomain in_sign_domain = QCP::sdBoth) const override;
  QCPRange getValueRange(bool& found_range, QCP::SignDomain in_sign_domain = QCP::sdBoth,
                         const QCPRange& in_key_range = QCPRange()) const override;

 protected:
  void draw(QCPPainter* painter) override;
  void drawLegendIcon(QCPPainter* painter, const QRectF& rect) const override;

 private:
  void draw_lane(QCPPainter* painter, int row, std::int64_t t0, std::int64_t t1, double width_px);
  void draw_stragglers(QCPPainter* painter, int device, std::int64_t t0, std::int64_t t1, double y0,
                       double y1);
  void draw_layer_boundaries(QCPPainter* painter, std::int64_t t0, std::int64_t t1);
  double x_of(std::int64_t t_ns) const;

  std::shared_ptr<const viewdata::TimelineData> data_;
  std::shared_ptr<const viewdata::LoadCube> loads_;
  std::vector<int> slot_cube_layer_;  // per layer slot: its layer's index in loads_, or -1
  std::vector<double> slot_mean_kept_;
  SpanColoring coloring_ = SpanColoring::kByExpert;
  std::vector<QString> layer_notes_;
  std::int64_t area_t0_ = 0;
  std::int64_t area_t1_ = 0;
  bool expanded_ = false;
  std::vector<int> rows_;
  int highlight_layer_ = -1;
  int highlight_expert_ = -1;
  // The last frame's draw lists, per row, for hover and click.
  std::vector<std::vector<viewdata::DrawItem>> drawn_;
  std::vector<float> idle_columns_;
  std::int64_t t_origin_ = 0;  // the last frame's linear time-to-pixel map
  double x_origin_ = 0;
  double px_per_ns_ = 0;
  QImage strip_;  // the last lane's items under 3 px, one pixel per column
  QImage tall_strip_;
};

// Time axis labels in µs or ms, whichever the tick spacing reads best in.
class TimeAxisTicker : public QCPAxisTicker {
 protected:
  QVector<double> createTickVector(double tick_step, const QCPRange& range) override;
  QString getTickLabel(double tick, const QLocale& locale, QChar format_char,
                       int precision) override;

 private:
  double step_ = 1;
};

// What an empty timeline shows in place of lanes.
inline constexpr char kEmptyTimelineMessage[] =
    "No spans recorded for this run: nothing to show on the timeline";

// "Straggler timeline — composed from per-expert timings (virtual devices)" and the like.
QString timeline_title(const std::string& timing, int devices);
// The title with the run's name on its first line: "Straggler timeline — drop(gamma=1.5) (#3)",
// then "composed from per-expert timings (8 virtual devices)".
QString timeline_title(const std::string& timing, int devices, const QString& run_name);
// "GPU 0" for measured runs, "Device 0" for virtual ones; "expert 3" for a sub-lane.
QString lane_label(const viewdata::TimelineLane& lane, const std::string& timing);

// Clears the plot and sets it up for a timeline: style, title, key, time and lane axes,
// horizontal drag and wheel zoom, zoomed to fit. An empty timeline gets a message instead.
// The plot owns the returned plottable.
TimelinePlottable* setup_timeline_plot(QCustomPlot& plot,
                                       std::shared_ptr<const viewdata::TimelineData> data,
                                       const std::string& timing, bool expanded = false,
                                       const QString& run_name = {});

// The colouring that reads best for a run: a hue per expert up to kExpertHues experts, then
// load when the loads are known, else device.
inline constexpr int kExpertHues = 16;
SpanColoring default_coloring(const viewdata::TimelineData& data, bool has_loads);

// The whole run in view (keys), every row in view (values); no replot.
void zoom_to_fit(QCustomPlot& plot, const TimelinePlottable& timeline);

// The lane labels for the rows now shown (only device rows when the rows are too thin to read)
// and the layer names on the top axis for the time now shown. setup_timeline_plot calls it
// before every replot.
void update_axis_ticks(QCustomPlot& plot, const TimelinePlottable& timeline,
                       const std::string& timing);

}  // namespace moescope::charts
