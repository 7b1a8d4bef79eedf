#include "app/gui/views/timeline_view.h"

#include <algorithm>
#include <map>

#include <qcustomplot.h>
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QKeyEvent>
#include <QLabel>
#include <QSplitter>
#include <QStandardItemModel>
#include <QToolBar>
#include <QVBoxLayout>

#include "app/gui/views/timeline_chart.h"
#include "app/viewdata/layer_saving.h"
#include "app/viewdata/timeline_spans.h"

namespace moescope::gui {

namespace {

constexpr double kKeyZoom = 0.8;  // W zooms in to this much of the window, S out by its inverse
constexpr double kKeyPan = 0.2;   // A and D pan by this much of the window

}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  auto* toolbar = new QToolBar(this);
  zoom_action_ = toolbar->addAction("Zoom to fit");
  zoom_action_->setShortcut(QKeySequence(Qt::Key_F));
  zoom_action_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  zoom_action_->setToolTip(
      "Show the whole run (F). W/S zoom, A/D pan, Shift+drag selects a "
      "window and totals it, Esc clears it");
  addAction(zoom_action_);
  expand_action_ = toolbar->addAction("Expand experts");
  expand_action_->setCheckable(true);
  expand_action_->setToolTip(
      "One sub-lane per expert under each device; drag up and down or use "
      "the arrow keys when they do not all fit");
  toolbar->addSeparator();
  toolbar->addWidget(new QLabel(" Colour by ", toolbar));
  coloring_box_ = new QComboBox(toolbar);
  coloring_box_->addItem("expert", static_cast<int>(charts::SpanColoring::kByExpert));
  coloring_box_->addItem("device", static_cast<int>(charts::SpanColoring::kByDevice));
  coloring_box_->addItem("load", static_cast<int>(charts::SpanColoring::kByLoad));
  coloring_box_->setFocusPolicy(Qt::NoFocus);  // W/A/S/D stay the view's keys
  coloring_box_->setToolTip(
      "A hue per expert reads up to 16 experts; past that colour by the "
      "device that ran them or by their rows against the layer's mean");
  toolbar->addWidget(coloring_box_);
  toolbar->addSeparator();
  toolbar->addWidget(new QLabel(" Compare with ", toolbar));
  compare_box_ = new QComboBox(toolbar);
  compare_box_->setMinimumContentsLength(18);
  compare_box_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  compare_box_->setToolTip(
      "A second run under this one on the same time axis (A/B), each layer "
      "marked with what the shown run saves against it");
  compare_box_->addItem("(nothing)", QVariant::fromValue<qlonglong>(-1));
  compare_box_->setFocusPolicy(Qt::NoFocus);
  toolbar->addWidget(compare_box_);
  lock_box_ = new QCheckBox("Lock time axes", toolbar);
  lock_box_->setChecked(true);
  lock_box_->setToolTip("Both runs show the same time window");
  lock_box_->setFocusPolicy(Qt::NoFocus);
  toolbar->addWidget(lock_box_);
  layout->addWidget(toolbar);

  area_label_ = new QLabel(this);
  area_label_->setWordWrap(true);
  area_label_->setContentsMargins(8, 2, 8, 2);
  area_label_->setVisible(false);
  layout->addWidget(area_label_);

  auto* splitter = new QSplitter(Qt::Vertical, this);
  chart_ = new TimelineChart(splitter);
  compared_chart_ = new TimelineChart(splitter);
  compared_chart_->setVisible(false);
  splitter->addWidget(chart_);
  splitter->addWidget(compared_chart_);
  layout->addWidget(splitter, 1);

  connect(zoom_action_, &QAction::triggered, this, &TimelineView::zoom_to_fit);
  connect(expand_action_, &QAction::toggled, this, &TimelineView::set_experts_expanded);
  connect(coloring_box_, qOverload<int>(&QComboBox::activated), this, [this](int index) {
    set_coloring(static_cast<charts::SpanColoring>(coloring_box_->itemData(index).toInt()));
  });
  connect(compare_box_, qOverload<int>(&QComboBox::activated), this, [this](int) {
    // "(nothing)" chosen stays chosen when runs switch; a run chosen is kept while offered.
    nothing_chosen_ = !compared_run_id().has_value();
    on_compare_choice();
  });
  connect(lock_box_, &QCheckBox::toggled, this, &TimelineView::set_axes_locked);
  for (TimelineChart* chart : {chart_, compared_chart_}) {
    connect(chart, &TimelineChart::span_selected, this, &TimelineView::span_selected);
    connect(chart, &TimelineChart::area_changed, this, &TimelineView::update_area_label);
    connect(chart, &TimelineChart::time_window_changed, this,
            [this, chart] { sync_window(chart); });
  }
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
  chart_->set_capacity_scope("global");
  show_main(std::move(built), nullptr, timing, {}, layers);
}

void TimelineView::show_timeline(std::shared_ptr<const viewdata::TimelineData> lanes,
                                 const std::string& timing) {
  chart_->set_capacity_scope("global");
  show_main(std::move(lanes), nullptr, timing, {}, {});
}

void TimelineView::show_loaded(std::shared_ptr<const viewdata::LoadedRun> run) {
  chart_->set_capacity_scope(run->data.capacity_scope());
  show_main(run->timeline, run->cube, run->data.run.timing,
            QString::fromStdString(run->data.display_name()), run->data.layers);
}

void TimelineView::show_main(std::shared_ptr<const viewdata::TimelineData> lanes,
                             std::shared_ptr<const viewdata::LoadCube> loads,
                             const std::string& timing, const QString& name,
                             std::vector<LayerStatRow> layers) {
  // Switching runs keeps the time window (Zoom to fit fits): the runs compare at one scale.
  const bool keep = chart_->has_run();
  const auto [lower, upper] = chart_->window();
  layers_ = std::move(layers);
  syncing_ = true;  // the new run's fit must not move the compared chart
  chart_->show_data(std::move(lanes), std::move(loads), timing, name);
  syncing_ = false;
  // Load needs the run's loads: offered only when they were read.
  if (auto* items = qobject_cast<QStandardItemModel*>(coloring_box_->model())) {
    items->item(coloring_box_->findData(static_cast<int>(charts::SpanColoring::kByLoad)))
        ->setEnabled(chart_->timeline()->has_loads());
  }
  const int coloring = coloring_box_->findData(static_cast<int>(chart_->timeline()->coloring()));
  coloring_box_->setCurrentIndex(coloring);
  update_extents();
  if (keep && chart_->has_run()) chart_->set_window(lower, upper);
  update_layer_notes();
  sync_window(chart_);
}

void TimelineView::clear() {
  layers_.clear();
  chart_->show_message("No run selected: pick a run to see its straggler timeline");
  set_compare_choices({}, std::nullopt);
}

void TimelineView::set_compare_choices(const std::vector<std::pair<std::int64_t, QString>>& runs,
                                       std::optional<std::int64_t> preferred) {
  const std::optional<std::int64_t> chosen = compared_run_id();
  compare_box_->clear();
  compare_box_->addItem("(nothing)", QVariant::fromValue<qlonglong>(-1));
  for (const auto& [id, name] : runs)
    compare_box_->addItem(name, QVariant::fromValue<qlonglong>(id));
  // The run compared with so far while it is offered, else the preferred one, else nothing.
  int index = 0;
  if (chosen) index = std::max(0, compare_box_->findData(QVariant::fromValue<qlonglong>(*chosen)));
  if (index == 0 && preferred && !nothing_chosen_)
    index = std::max(0, compare_box_->findData(QVariant::fromValue<qlonglong>(*preferred)));
  compare_box_->setCurrentIndex(index);
  on_compare_choice();
}

void TimelineView::on_compare_choice() {
  const auto id = compared_run_id();
  if (!id) show_compared(nullptr);
  emit compare_requested(id.value_or(-1));
}

std::optional<std::int64_t> TimelineView::compared_run_id() const {
  const qlonglong id = compare_box_->currentData().toLongLong();
  if (id < 0) return std::nullopt;
  return id;
}

void TimelineView::show_compared(std::shared_ptr<const viewdata::LoadedRun> run) {
  if (!run || !run->timeline) {
    compared_layers_.clear();
    compared_chart_->setVisible(false);  // first: its empty window must not reach the shown run
    syncing_ = true;
    compared_chart_->show_message("Nothing to compare with");
    syncing_ = false;
  } else {
    compared_layers_ = run->data.layers;
    compared_chart_->set_capacity_scope(run->data.capacity_scope());
    const auto [lower, upper] = chart_->window();
    syncing_ = true;  // its fit must not move the shown chart
    compared_chart_->show_data(run->timeline, run->cube, run->data.run.timing,
                               QString::fromStdString(run->data.display_name()));
    compared_chart_->set_expanded(expand_action_->isChecked());
    compared_chart_->set_coloring(chart_->timeline()->coloring());
    compared_chart_->setVisible(true);
    syncing_ = false;
    update_extents();
    chart_->set_window(lower, upper);
  }
  update_extents();
  update_layer_notes();
  sync_window(chart_);
}

void TimelineView::set_axes_locked(bool locked) {
  if (lock_box_->isChecked() != locked) {
    lock_box_->setChecked(locked);  // comes back here through toggled
    return;
  }
  update_extents();
  sync_window(chart_);
}

bool TimelineView::axes_locked() const {
  return lock_box_->isChecked();
}

void TimelineView::update_extents() {
  // Locked, one window must be able to show either run: both pan over both runs' time.
  const bool both = axes_locked() && compared_chart_->isVisibleTo(this) &&
                    compared_chart_->has_run() && chart_->has_run();
  const auto& a = chart_->timeline()->data();
  const auto& b = compared_chart_->timeline()->data();
  if (both) {
    const auto start = std::min(a.start_ns(), b.start_ns());
    const auto end = std::max(a.end_ns(), b.end_ns());
    chart_->set_time_extent(start, end);
    compared_chart_->set_time_extent(start, end);
  } else {
    chart_->set_time_extent(a.start_ns(), a.end_ns());
    compared_chart_->set_time_extent(b.start_ns(), b.end_ns());
  }
}

void TimelineView::update_layer_notes() {
  std::vector<QString> notes;
  if (compared_chart_->isVisibleTo(this) && !compared_layers_.empty() && !layers_.empty()) {
    std::map<std::pair<int, int>, const LayerStatRow*> other;
    for (const auto& row : compared_layers_)
      other[{row.step, row.layer}] = &row;
    std::map<std::pair<int, int>, const LayerStatRow*> shown;
    for (const auto& row : layers_)
      shown[{row.step, row.layer}] = &row;
    for (const auto& layer : chart_->timeline()->data().layers()) {
      const auto a = shown.find({layer.step, layer.layer});
      const auto b = other.find({layer.step, layer.layer});
      notes.push_back(a == shown.end() || b == other.end()
                          ? QString()
                          : QString::fromStdString(viewdata::saving_text(
                                viewdata::layer_saving(*a->second, *b->second))));
    }
  }
  chart_->timeline()->set_layer_notes(std::move(notes));
  if (chart_->isVisible()) chart_->plot()->replot();
}

void TimelineView::sync_window(TimelineChart* from) {
  if (syncing_ || !axes_locked() || !compared_chart_->isVisibleTo(this)) return;
  TimelineChart* to = from == chart_ ? compared_chart_ : chart_;
  // An empty chart's window (0 to 1 µs) says nothing about where the other one should look.
  if (!from->has_run() || !to->has_run()) return;
  syncing_ = true;
  const auto [lower, upper] = from->window();
  to->set_window(lower, upper);
  syncing_ = false;
}

void TimelineView::update_area_label() {
  const QString text = area_text();
  area_label_->setText(text);
  area_label_->setVisible(!text.isEmpty());
}

QString TimelineView::area_text() const {
  QString text = chart_->area_text();
  const QString other = compared_chart_->isVisibleTo(this) ? compared_chart_->area_text() : "";
  if (!other.isEmpty()) text += (text.isEmpty() ? "" : "\n") + QString("Compared run: ") + other;
  return text;
}

void TimelineView::select_expert(int layer, int expert) {
  chart_->select_expert(layer, expert);
}

void TimelineView::zoom_to_fit() {
  const bool both = compared_chart_->isVisibleTo(this) && compared_chart_->has_run();
  if (both && axes_locked() && chart_->has_run()) {
    // Locked: the window that holds both runs whole.
    const auto& a = chart_->timeline()->data();
    const auto& b = compared_chart_->timeline()->data();
    const double start = static_cast<double>(std::min(a.start_ns(), b.start_ns())) / 1e3;
    const double end = static_cast<double>(std::max(a.end_ns(), b.end_ns())) / 1e3;
    const double pad = std::max((end - start) * 0.01, 1e-3);
    chart_->zoom_to_fit();  // the lanes too
    chart_->set_window(start - pad, end + pad);
    sync_window(chart_);
    return;
  }
  chart_->zoom_to_fit();
  if (both) compared_chart_->zoom_to_fit();
}

void TimelineView::set_experts_expanded(bool expanded) {
  if (expand_action_->isChecked() != expanded) {
    expand_action_->setChecked(expanded);  // comes back here through toggled
    return;
  }
  chart_->set_expanded(expanded);
  compared_chart_->set_expanded(expanded);
}

bool TimelineView::experts_expanded() const {
  return expand_action_->isChecked();
}

void TimelineView::set_coloring(charts::SpanColoring coloring) {
  coloring_box_->setCurrentIndex(coloring_box_->findData(static_cast<int>(coloring)));
  chart_->set_coloring(coloring);
  compared_chart_->set_coloring(coloring);
}

QCustomPlot* TimelineView::plot() {
  return chart_->plot();
}

charts::TimelinePlottable* TimelineView::timeline() {
  return chart_->timeline();
}

QString TimelineView::details_at(const QPoint& pos) const {
  return chart_->details_at(pos);
}

void TimelineView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_W:
      chart_->zoom_by(kKeyZoom);
      break;
    case Qt::Key_S:
      chart_->zoom_by(1 / kKeyZoom);
      break;
    case Qt::Key_A:
      chart_->pan_by(-kKeyPan);
      break;
    case Qt::Key_D:
      chart_->pan_by(kKeyPan);
      break;
    case Qt::Key_Up:
      chart_->scroll_rows(-1);
      break;
    case Qt::Key_Down:
      chart_->scroll_rows(1);
      break;
    case Qt::Key_Escape:
      chart_->select_area(0, 0);
      compared_chart_->select_area(0, 0);
      break;
    default:
      QWidget::keyPressEvent(event);
      return;
  }
  event->accept();
}

}  // namespace moescope::gui
