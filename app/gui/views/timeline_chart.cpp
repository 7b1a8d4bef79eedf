#include "app/gui/views/timeline_chart.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>
#include <QMouseEvent>
#include <QTimer>
#include <QToolTip>
#include <QVBoxLayout>

#include "app/viewdata/metric_text.h"

namespace moescope::gui {

namespace {

constexpr double kNsPerKey = 1000;  // keys are µs
constexpr double kMinRowPx = 16;    // lanes thinner than this cannot hold their label

QString duration(std::int64_t ns) {
  return QString::fromStdString(viewdata::format_duration(static_cast<double>(ns)));
}

QString phase_text(profiler::Phase phase) {
  const auto name = profiler::phase_name(phase);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

// The capacity that bounded a span's expert, as the run's scope defines it
// (shared/ALGORITHMS.md, Capacity): C per expert, C_s per (source device, expert), or C_d rows
// on each destination device.
QString capacity_text(const std::vector<std::int64_t>& capacity, const std::string& scope,
                      int device) {
  if (capacity.empty()) return {};
  if (scope == "device") {
    if (device < 0 || device >= static_cast<int>(capacity.size())) return {};
    return QString("capacity %1 rows on this device (device scope)")
        .arg(capacity[static_cast<std::size_t>(device)]);
  }
  if (capacity.size() == 1) return QString("capacity %1 rows per expert").arg(capacity.front());
  QStringList values;
  for (std::size_t d = 0; d < capacity.size() && d < 8; ++d)
    values << QString::number(capacity[d]);
  if (capacity.size() > 8) values << "…";
  return "capacity per expert from each source device: " + values.join(", ") + " rows";
}

}  // namespace

TimelineChart::TimelineChart(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setMouseTracking(true);
  layout->addWidget(plot_);
  connect(plot_, &QCustomPlot::mouseMove, this, &TimelineChart::on_mouse_move);
  connect(plot_, &QCustomPlot::mousePress, this, &TimelineChart::on_mouse_press);
  connect(plot_, &QCustomPlot::mouseRelease, this, &TimelineChart::on_mouse_release);
  connect(plot_, &QCustomPlot::afterLayout, this, &TimelineChart::fit_rows);
  connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
          [this](const QCPRange&) {
            clamp_window();
            const QCPRange range = plot_->xAxis->range();
            emit time_window_changed(range.lower, range.upper);
          });
  show_message("No run selected: pick a run to see its straggler timeline");
}

void TimelineChart::show_data(std::shared_ptr<const viewdata::TimelineData> lanes,
                              std::shared_ptr<const viewdata::LoadCube> loads,
                              const std::string& timing, const QString& run_name) {
  timing_ = timing;
  timeline_ = nullptr;  // the plot deletes the previous one while it sets up the next
  timeline_ = charts::setup_timeline_plot(*plot_, std::move(lanes), timing, expanded_, run_name);
  timeline_->set_loads(std::move(loads));
  timeline_->set_coloring(effective_coloring());
  extent_start_ns_ = timeline_->data().start_ns();
  extent_end_ns_ = timeline_->data().end_ns();
  plot_->axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
  fit_rows();
  replot();
  emit area_changed();
}

void TimelineChart::show_message(const QString& message) {
  show_data(std::make_shared<const viewdata::TimelineData>(), nullptr, "composed", {});
  for (int i = 0; i < plot_->itemCount(); ++i) {
    if (auto* text = qobject_cast<QCPItemText*>(plot_->item(i))) text->setText(message);
  }
  replot();
}

void TimelineChart::set_capacity_scope(const std::string& scope) {
  capacity_scope_ = scope;
}

void TimelineChart::set_window(double lower_us, double upper_us) {
  plot_->xAxis->setRange(lower_us, upper_us);  // clamped onto the run
  replot();
}

std::pair<double, double> TimelineChart::window() const {
  return {plot_->xAxis->range().lower, plot_->xAxis->range().upper};
}

void TimelineChart::set_expanded(bool expanded) {
  expanded_ = expanded;
  timeline_->set_expanded(expanded);
  const double top = plot_->yAxis->range().lower;
  plot_->yAxis->setRange(top, top + static_cast<double>(timeline_->rows().size()));
  fit_rows();
  replot();
}

void TimelineChart::set_coloring(charts::SpanColoring coloring) {
  coloring_ = coloring;
  timeline_->set_coloring(effective_coloring());
  replot();
}

charts::SpanColoring TimelineChart::effective_coloring() const {
  const auto fallback = charts::default_coloring(timeline_->data(), timeline_->has_loads());
  // Load needs the run's loads; a run without them (a damaged table) gets its default.
  if (!coloring_ || (*coloring_ == charts::SpanColoring::kByLoad && !timeline_->has_loads()))
    return fallback;
  return *coloring_;
}

void TimelineChart::select_expert(int layer, int expert) {
  timeline_->set_highlight(layer, expert);
  const auto& layers = timeline_->data().layers();
  const auto it = std::find_if(layers.begin(), layers.end(),
                               [&](const viewdata::TimelineLayer& l) { return l.layer == layer; });
  if (it != layers.end()) {
    // Keep the zoom when the layer fits in it; otherwise show the layer with a margin.
    const double start = static_cast<double>(it->start_ns) / kNsPerKey;
    const double end = static_cast<double>(it->end_ns) / kNsPerKey;
    const double width = plot_->xAxis->range().size();
    if (end - start <= width * 0.9) {
      plot_->xAxis->setRange((start + end) / 2 - width / 2, (start + end) / 2 + width / 2);
    } else {
      const double pad = (end - start) * 0.05;
      plot_->xAxis->setRange(start - pad, end + pad);
    }
  }
  replot();
}

void TimelineChart::zoom_to_fit() {
  charts::zoom_to_fit(*plot_, *timeline_);
  fit_rows();
  replot();
}

void TimelineChart::zoom_by(double factor) {
  plot_->xAxis->scaleRange(factor, plot_->xAxis->range().center());
  replot();
}

void TimelineChart::pan_by(double window_fraction) {
  plot_->xAxis->moveRange(plot_->xAxis->range().size() * window_fraction);
  replot();
}

void TimelineChart::scroll_rows(int rows) {
  plot_->yAxis->moveRange(rows);
  fit_rows();
  replot();
}

void TimelineChart::set_time_extent(std::int64_t start_ns, std::int64_t end_ns) {
  extent_start_ns_ = std::min(start_ns, timeline_->data().start_ns());
  extent_end_ns_ = std::max(end_ns, timeline_->data().end_ns());
  clamp_window();
}

void TimelineChart::clamp_window() {
  if (clamping_) return;
  clamping_ = true;
  const QCPRange range = plot_->xAxis->range();
  // Wheel zoom has no end of its own: keep the window between 1 ns and 1000 s and within
  // ±10^6 s, so times stay far inside int64 when they become pixels.
  constexpr double kMinSpanUs = 1e-3;
  constexpr double kMaxSpanUs = 1e9;
  constexpr double kMaxCenterUs = 1e12;
  double span = std::clamp(range.size(), kMinSpanUs, kMaxSpanUs);
  double center = std::clamp(range.center(), -kMaxCenterUs, kMaxCenterUs);
  if (has_run()) {
    // Panning and zooming stay on the run: at most the whole run with a small margin.
    double lo = static_cast<double>(extent_start_ns_) / kNsPerKey;
    double hi = static_cast<double>(extent_end_ns_) / kNsPerKey;
    const double pad = std::max((hi - lo) * 0.02, 1e-3);
    lo -= pad;
    hi += pad;
    span = std::min(span, hi - lo);
    center = std::clamp(center, lo + span / 2, hi - span / 2);
  }
  if (center != range.center() || span != range.size())
    plot_->xAxis->setRange(center, span, Qt::AlignCenter);
  clamping_ = false;
}

void TimelineChart::fit_rows() {
  if (timeline_ == nullptr) return;
  const auto rows = static_cast<double>(timeline_->rows().size());
  if (rows < 1) return;
  const double height = plot_->axisRect()->height();
  // Every lane when they fit at a readable height; else as many as do, scrolled by dragging
  // up and down or the arrow keys.
  const double visible = height > 0 ? std::clamp(std::floor(height / kMinRowPx), 1.0, rows) : rows;
  const double top = std::clamp(std::round(plot_->yAxis->range().lower + 0.5), 0.0, rows - visible);
  const QCPRange wanted(top - 0.5, top + visible - 0.5);
  if (plot_->yAxis->range() != wanted) {
    plot_->yAxis->setRange(wanted);
    // Called after the layout: the lane labels follow in the next frame.
    QTimer::singleShot(0, this, [this] { replot(); });
  }
}

void TimelineChart::select_area(std::int64_t t0_ns, std::int64_t t1_ns) {
  if (t1_ns < t0_ns) std::swap(t0_ns, t1_ns);
  timeline_->set_area(t0_ns, t1_ns);
  replot();
  emit area_changed();
}

std::optional<std::pair<std::int64_t, std::int64_t>> TimelineChart::area() const {
  const auto [t0, t1] = timeline_->area();
  if (t1 <= t0 || !has_run()) return std::nullopt;
  return std::pair{t0, t1};
}

QString TimelineChart::area_text() const {
  const auto window = area();
  if (!window) return {};
  const auto [t0, t1] = *window;
  const viewdata::TimelineData& run = timeline_->data();
  const auto totals = viewdata::totals_between(run, t0, t1);
  std::int64_t experts = 0;
  std::int64_t transfers = 0;
  std::int64_t idle = 0;
  const viewdata::DeviceTotals* idlest = nullptr;
  for (const auto& row : totals) {
    experts += row.expert_ns;
    transfers += row.transfer_ns + row.host_ns;
    idle += row.idle_ns;
    if (idlest == nullptr || row.idle_ns > idlest->idle_ns) idlest = &row;
  }
  const int first = std::max(0, run.layer_at(t0));
  const int last = std::max(first, run.layer_at(t1 - 1));
  const double device_time = static_cast<double>(t1 - t0) * std::max(1, run.devices());
  QString text = QString(
                     "Selected %1 (%2 layer%3): experts %4, transfers and routing %5, idle %6 "
                     "(%7% of the devices' time)")
                     .arg(duration(t1 - t0))
                     .arg(last - first + 1)
                     .arg(last > first ? "s" : "")
                     .arg(duration(experts), duration(transfers), duration(idle))
                     .arg(100.0 * static_cast<double>(idle) / device_time, 0, 'f', 1);
  if (idlest != nullptr && idlest->idle_ns > 0) {
    text +=
        QString("; most idle: %1, %2")
            .arg(charts::lane_label(run.lanes()[static_cast<std::size_t>(idlest->device)], timing_),
                 duration(idlest->idle_ns));
  }
  return text;
}

void TimelineChart::replot() {
  // A hidden chart has no size to draw at; it draws when it is shown and laid out.
  if (plot_->width() > 0 && plot_->height() > 0) plot_->replot();
}

std::int64_t TimelineChart::ns_at(int x) const {
  return static_cast<std::int64_t>(std::llround(plot_->xAxis->pixelToCoord(x) * kNsPerKey));
}

std::int64_t TimelineChart::area_ns_at(int x) const {
  // A window selected past the plot's edge or the run's end stops at them: time outside the
  // run would count as neither busy nor idle.
  const QRect rect = plot_->axisRect()->rect();
  const std::int64_t t = ns_at(std::clamp(x, rect.left(), rect.right()));
  return std::clamp(t, timeline_->data().start_ns(), timeline_->data().end_ns());
}

QString TimelineChart::details_at(const QPoint& pos) const {
  if (!plot_->axisRect()->rect().contains(pos)) return {};
  const double key = plot_->xAxis->pixelToCoord(pos.x());
  const double value = plot_->yAxis->pixelToCoord(pos.y());
  const viewdata::TimelineData& run = timeline_->data();
  const auto hit = timeline_->item_at(key, value);
  if (hit) {
    const viewdata::TimelineLane& lane = run.lanes()[static_cast<std::size_t>(hit->lane)];
    const QString where =
        charts::lane_label(run.lanes()[static_cast<std::size_t>(lane.device)], timing_);
    const viewdata::DrawItem& item = hit->item;
    if (item.folded) {
      const auto extent = std::max<std::int64_t>(1, item.end_ns - item.start_ns);
      return QString("%1: %2 spans folded (zoom in to see them)\nover %3, busy %4%")
          .arg(where)
          .arg(item.count)
          .arg(duration(extent))
          .arg(std::min(100.0,
                        100.0 * static_cast<double>(item.busy_ns) / static_cast<double>(extent)),
               0, 'f', 0);
    }
    const viewdata::TimelineSpan& span = lane.spans[static_cast<std::size_t>(item.first_span)];
    const viewdata::TimelineLayer& layer = run.layers()[static_cast<std::size_t>(span.layer_slot)];
    QString text = where;
    if (span.expert >= 0) text += QString(", expert %1").arg(span.expert);
    text += QString("\n%1 in step %2, layer %3\nduration %4, from %5 into the layer")
                .arg(phase_text(span.phase))
                .arg(layer.step)
                .arg(layer.layer)
                .arg(duration(span.duration_ns()), duration(span.start_ns - layer.start_ns));
    if (span.phase == profiler::Phase::kExpert && span.expert >= 0) {
      if (const auto rows = timeline_->rows_of(span.layer_slot, span.expert)) {
        text += QString("\nrows %1 kept of %2 routed (%3× the layer's mean)")
                    .arg(rows->kept)
                    .arg(rows->routed)
                    .arg(rows->kept_over_mean, 0, 'f', 2);
      }
      const QString capacity = capacity_text(layer.capacity, capacity_scope_, lane.device);
      if (!capacity.isEmpty()) text += "\n" + capacity;
    }
    if (span.on_critical_path()) text += "\non the critical path";
    if (layer.straggler_device == lane.device && lane.expert < 0) {
      text += "\nthis device is the layer's straggler";
    }
    return text;
  }
  // Not on a span: maybe waiting at the barrier.
  const int row = static_cast<int>(std::lround(value));
  if (row < 0 || row >= static_cast<int>(timeline_->rows().size())) return {};
  const viewdata::TimelineLane& lane =
      run.lanes()[static_cast<std::size_t>(timeline_->rows()[static_cast<std::size_t>(row)])];
  if (lane.expert >= 0) return {};
  const auto t = static_cast<std::int64_t>(key * kNsPerKey);
  for (const auto& block : run.idle(lane.device)) {
    if (block.start_ns <= t && t <= block.end_ns) {
      const auto& layer = run.layers()[static_cast<std::size_t>(block.layer_slot)];
      return QString("%1 idle %2, waiting for %3\nstep %4, layer %5")
          .arg(charts::lane_label(lane, timing_), duration(block.end_ns - block.start_ns),
               layer.straggler_device >= 0 && layer.straggler_device < run.devices()
                   ? charts::lane_label(
                         run.lanes()[static_cast<std::size_t>(layer.straggler_device)], timing_)
                   : QStringLiteral("the straggler"))
          .arg(layer.step)
          .arg(layer.layer);
    }
    if (block.start_ns > t) break;
  }
  return {};
}

void TimelineChart::on_mouse_move(QMouseEvent* event) {
  if (selecting_area_) {
    const std::int64_t t = area_ns_at(event->pos().x());
    timeline_->set_area(std::min(area_anchor_ns_, t), std::max(area_anchor_ns_, t));
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  if (event->buttons() != Qt::NoButton) return;  // dragging
  const QString text = details_at(event->pos());
  if (text.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
  }
}

void TimelineChart::on_mouse_press(QMouseEvent* event) {
  press_pos_ = event->pos();
  // Shift+drag selects a time window; the plot's own drag pans only without Shift.
  selecting_area_ =
      event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier) && has_run();
  plot_->setInteraction(QCP::iRangeDrag, !selecting_area_);
  if (selecting_area_) {
    area_anchor_ns_ = area_ns_at(event->pos().x());
    timeline_->set_area(0, 0);
  }
}

void TimelineChart::on_mouse_release(QMouseEvent* event) {
  if (selecting_area_) {
    selecting_area_ = false;
    plot_->setInteraction(QCP::iRangeDrag, true);
    const std::int64_t t = area_ns_at(event->pos().x());
    // A Shift+click without a drag clears the selection.
    if ((event->pos() - press_pos_).manhattanLength() <= 3) {
      select_area(0, 0);
    } else {
      select_area(std::min(area_anchor_ns_, t), std::max(area_anchor_ns_, t));
    }
    return;
  }
  if (event->button() != Qt::LeftButton) return;
  if ((event->pos() - press_pos_).manhattanLength() > 3) return;  // a drag, not a click
  const auto hit = timeline_->item_at(plot_->xAxis->pixelToCoord(event->pos().x()),
                                      plot_->yAxis->pixelToCoord(event->pos().y()));
  if (!hit || hit->item.folded) return;
  const viewdata::TimelineData& run = timeline_->data();
  const auto& span = run.lanes()[static_cast<std::size_t>(hit->lane)]
                         .spans[static_cast<std::size_t>(hit->item.first_span)];
  if (span.expert < 0) return;
  const int layer = run.layers()[static_cast<std::size_t>(span.layer_slot)].layer;
  timeline_->set_highlight(layer, span.expert);
  replot();
  emit span_selected(layer, span.expert);
}

}  // namespace moescope::gui
