#include "app/gui/views/timeline_view.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>
#include <QAction>
#include <QMouseEvent>
#include <QToolBar>
#include <QToolTip>
#include <QVBoxLayout>

#include "app/charts/timeline_plottable.h"
#include "app/viewdata/timeline_spans.h"

namespace moescope::gui {

namespace {

QString us(std::int64_t ns) {
  return QString::number(static_cast<double>(ns) / 1e3, 'f', 3) + " µs";
}

QString phase_text(profiler::Phase phase) {
  const auto name = profiler::phase_name(phase);
  return QString::fromUtf8(name.data(), static_cast<qsizetype>(name.size()));
}

}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  auto* toolbar = new QToolBar(this);
  zoom_action_ = toolbar->addAction("Zoom to fit");
  zoom_action_->setShortcut(QKeySequence(Qt::Key_F));
  zoom_action_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  zoom_action_->setToolTip("Show the whole run (F)");
  addAction(zoom_action_);
  expand_action_ = toolbar->addAction("Expand experts");
  expand_action_->setCheckable(true);
  expand_action_->setToolTip("One sub-lane per expert under each device");
  layout->addWidget(toolbar);

  plot_ = new QCustomPlot(this);
  plot_->setMouseTracking(true);
  layout->addWidget(plot_, 1);

  connect(zoom_action_, &QAction::triggered, this, &TimelineView::zoom_to_fit);
  connect(expand_action_, &QAction::toggled, this, &TimelineView::set_experts_expanded);
  connect(plot_, &QCustomPlot::mouseMove, this, &TimelineView::on_mouse_move);
  connect(plot_, &QCustomPlot::mousePress, this, &TimelineView::on_mouse_press);
  connect(plot_, &QCustomPlot::mouseRelease, this, &TimelineView::on_mouse_release);
  // Wheel zoom has no end of its own: keep the window between 1 ns and 1000 s and within
  // ±10^6 s, so times stay far inside int64 when they become pixels.
  connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this,
          [this](const QCPRange& range) {
            constexpr double kMinSpanUs = 1e-3;
            constexpr double kMaxSpanUs = 1e9;
            constexpr double kMaxCenterUs = 1e12;
            const double center = std::clamp(range.center(), -kMaxCenterUs, kMaxCenterUs);
            const double span = std::clamp(range.size(), kMinSpanUs, kMaxSpanUs);
            if (center != range.center() || span != range.size())
              plot_->xAxis->setRange(center, span, Qt::AlignCenter);
          });
  clear();
}

TimelineView::~TimelineView() = default;

void TimelineView::show_run(const std::vector<profiler::Event>& events,
                            const std::vector<LayerStatRow>& layers, const std::string& timing) {
  std::shared_ptr<const viewdata::TimelineData> built;
  try {
    built = std::make_shared<const viewdata::TimelineData>(
        viewdata::TimelineData::build(events, layers));
  } catch (...) {
    clear();  // never leave the previous run on screen under a new selection
    throw;
  }
  show_data(std::move(built), timing);
}

void TimelineView::show_timeline(std::shared_ptr<const viewdata::TimelineData> lanes,
                                 const std::string& timing) {
  show_data(std::move(lanes), timing);
}

void TimelineView::clear() {
  show_data(std::make_shared<const viewdata::TimelineData>(), "composed");
  for (int i = 0; i < plot_->itemCount(); ++i) {
    if (auto* text = qobject_cast<QCPItemText*>(plot_->item(i))) {
      text->setText("No run selected: pick a run to see its straggler timeline");
    }
  }
  plot_->replot();
}

void TimelineView::show_data(std::shared_ptr<const viewdata::TimelineData> timeline_data,
                             const std::string& timing) {
  timing_ = timing;
  timeline_ = charts::setup_timeline_plot(*plot_, std::move(timeline_data), timing,
                                          expand_action_->isChecked());
  plot_->replot();
}

void TimelineView::select_expert(int layer, int expert) {
  timeline_->set_highlight(layer, expert);
  const auto& layers = timeline_->data().layers();
  const auto it = std::find_if(layers.begin(), layers.end(),
                               [&](const viewdata::TimelineLayer& l) { return l.layer == layer; });
  if (it != layers.end()) {
    // Keep the zoom when the layer fits in it; otherwise show the layer with a margin.
    const double start = static_cast<double>(it->start_ns) / 1e3;
    const double end = static_cast<double>(it->end_ns) / 1e3;
    const double width = plot_->xAxis->range().size();
    if (end - start <= width * 0.9) {
      plot_->xAxis->setRange((start + end) / 2 - width / 2, (start + end) / 2 + width / 2);
    } else {
      const double pad = (end - start) * 0.05;
      plot_->xAxis->setRange(start - pad, end + pad);
    }
  }
  plot_->replot();
}

void TimelineView::zoom_to_fit() {
  charts::zoom_to_fit(*plot_, *timeline_);
  plot_->replot();
}

void TimelineView::set_experts_expanded(bool expanded) {
  if (expand_action_->isChecked() != expanded) {
    expand_action_->setChecked(expanded);  // comes back here through toggled
    return;
  }
  timeline_->set_expanded(expanded);
  const auto keys = plot_->xAxis->range();
  charts::zoom_to_fit(*plot_, *timeline_);
  plot_->xAxis->setRange(keys);
  plot_->replot();
}

bool TimelineView::experts_expanded() const {
  return expand_action_->isChecked();
}

QCustomPlot* TimelineView::plot() {
  return plot_;
}

charts::TimelinePlottable* TimelineView::timeline() {
  return timeline_;
}

QString TimelineView::details_at(const QPoint& pos) const {
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
      const double extent =
          static_cast<double>(std::max<std::int64_t>(1, item.end_ns - item.start_ns));
      return QString("%1: %2 spans folded (zoom in to see them)\n%3 – %4\nbusy %5%")
          .arg(where)
          .arg(item.count)
          .arg(us(item.start_ns), us(item.end_ns))
          .arg(std::min(100.0, 100.0 * static_cast<double>(item.busy_ns) / extent), 0, 'f', 0);
    }
    const viewdata::TimelineSpan& span = lane.spans[static_cast<std::size_t>(item.first_span)];
    const viewdata::TimelineLayer& layer = run.layers()[static_cast<std::size_t>(span.layer_slot)];
    QString text = where;
    if (span.expert >= 0) text += QString(", expert %1").arg(span.expert);
    text += QString("\nphase %1\nstep %2, layer %3\nstart %4\nduration %5")
                .arg(phase_text(span.phase))
                .arg(layer.step)
                .arg(layer.layer)
                .arg(us(span.start_ns), us(span.duration_ns()));
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
  const auto t = static_cast<std::int64_t>(key * 1e3);
  for (const auto& block : run.idle(lane.device)) {
    if (block.start_ns <= t && t <= block.end_ns) {
      const auto& layer = run.layers()[static_cast<std::size_t>(block.layer_slot)];
      return QString("%1 idle %2, waiting for %3\nstep %4, layer %5")
          .arg(charts::lane_label(lane, timing_), us(block.end_ns - block.start_ns),
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

void TimelineView::on_mouse_move(QMouseEvent* event) {
  if (event->buttons() != Qt::NoButton) return;  // dragging
  const QString text = details_at(event->pos());
  if (text.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
  }
}

void TimelineView::on_mouse_press(QMouseEvent* event) {
  press_pos_ = event->pos();
}

void TimelineView::on_mouse_release(QMouseEvent* event) {
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
  plot_->replot();
  emit span_selected(layer, span.expert);
}

}  // namespace moescope::gui
