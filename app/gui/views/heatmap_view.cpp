#include "app/gui/views/heatmap_view.h"

#include <algorithm>

#include <qcustomplot.h>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QToolTip>
#include <QVBoxLayout>

namespace moescope::gui {

using viewdata::LoadKind;

namespace {
QString steps_text(int steps) {
  return steps == 1 ? HeatmapView::tr("1 step") : HeatmapView::tr("%1 steps").arg(steps);
}
}  // namespace

HeatmapView::HeatmapView(QWidget* parent) : QWidget(parent) {
  kind_box_ = new QComboBox(this);
  for (int k = 0; k < viewdata::kLoadKindCount; ++k) {
    const auto label = viewdata::load_kind_label(static_cast<LoadKind>(k));
    kind_box_->addItem(QString::fromUtf8(label.data(), static_cast<int>(label.size())) +
                       tr(" load"));
  }
  kind_box_->setToolTip(
      tr("Routed: pairs the router chose. Kept: pairs the policy kept (what the expert "
         "computes). Dropped: routed but not kept. Added: pairs reroute or expanded drop added."));
  normalized_box_ = new QCheckBox(tr("÷ mean"), this);
  normalized_box_->setToolTip(
      tr("Divide each cell by the mean of its row: 1 is perfectly balanced, 3 is three times "
         "the fair share"));
  view_box_ = new QComboBox(this);
  view_box_->setToolTip(tr("Layers × experts (mean over steps), or steps × experts of one layer"));

  columns_box_ = new QComboBox(this);
  columns_box_->addItems({tr("Logical experts"), tr("Physical slots")});
  columns_box_->setToolTip(
      tr("A run on replicated experts: the logical experts, or the physical slots (each "
         "replica, on its device) with the rows each computed"));
  columns_label_ = new QLabel(tr("Columns"), this);

  auto* bar = new QHBoxLayout;
  bar->addWidget(new QLabel(tr("Show"), this));
  bar->addWidget(kind_box_);
  bar->addWidget(normalized_box_);
  bar->addSpacing(16);
  bar->addWidget(new QLabel(tr("View"), this));
  bar->addWidget(view_box_);
  bar->addSpacing(16);
  bar->addWidget(columns_label_);
  bar->addWidget(columns_box_);
  bar->addStretch(1);

  plot_ = new QCustomPlot(this);
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  chart_ = std::make_unique<charts::HeatmapChart>(*plot_);
  empty_label_ = new QLabel(tr("No expert loads: pick a completed run in the tree."), this);
  empty_label_->setAlignment(Qt::AlignCenter);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(bar);
  layout->addWidget(empty_label_);
  layout->addWidget(plot_, 1);

  auto changed = [this] { refresh(); };
  connect(kind_box_, &QComboBox::currentIndexChanged, this, changed);
  connect(normalized_box_, &QCheckBox::toggled, this, changed);
  connect(view_box_, &QComboBox::currentIndexChanged, this, changed);
  connect(columns_box_, &QComboBox::currentIndexChanged, this, changed);
  clear();
}

HeatmapView::~HeatmapView() = default;

void HeatmapView::show_loads(viewdata::LoadCube cube) {
  show_loads(std::make_shared<const viewdata::LoadCube>(std::move(cube)));
}

void HeatmapView::show_loads(std::shared_ptr<const viewdata::LoadCube> cube) {
  cube_ = std::move(cube);
  slot_cube_.reset();
  slot_expert_.clear();
  columns_label_->setVisible(false);
  columns_box_->setVisible(false);
  QSignalBlocker block(view_box_);
  view_box_->clear();
  view_box_->addItem(tr("Layers × experts (mean over %1)").arg(steps_text(shown_cube().steps())));
  for (int id : shown_cube().layer_ids())
    view_box_->addItem(tr("Steps × experts, layer %1").arg(id));
  refresh();
}

void HeatmapView::show_slots(std::shared_ptr<const viewdata::LoadCube> slot_cube,
                             std::map<int, std::vector<int>> slot_expert) {
  // The slots must be the same steps and layers as the experts they replicate.
  if (!slot_cube || slot_cube->steps() != cube_->steps() ||
      slot_cube->layer_ids() != cube_->layer_ids()) {
    return;
  }
  slot_cube_ = std::move(slot_cube);
  slot_expert_ = std::move(slot_expert);
  columns_label_->setVisible(true);
  columns_box_->setVisible(true);
  refresh();
}

void HeatmapView::show_slot_columns(bool on) {
  columns_box_->setCurrentIndex(on && slot_cube_ ? 1 : 0);
}

bool HeatmapView::slot_columns_shown() const {
  return slot_cube_ && columns_box_->currentIndex() == 1;
}

const viewdata::LoadCube& HeatmapView::shown_cube() const {
  return slot_columns_shown() ? *slot_cube_ : *cube_;
}

void HeatmapView::clear() {
  show_loads(viewdata::LoadCube{});
}

void HeatmapView::set_selection(LoadKind kind, bool normalized, std::optional<int> step_layer) {
  QSignalBlocker b1(kind_box_), b2(normalized_box_), b3(view_box_);
  kind_box_->setCurrentIndex(static_cast<int>(kind));
  normalized_box_->setChecked(normalized);
  const int index = step_layer ? shown_cube().layer_index(*step_layer) : -1;
  view_box_->setCurrentIndex(index >= 0 ? index + 1 : 0);
  refresh();
}

LoadKind HeatmapView::kind() const {
  // A slot computes the rows it kept; nothing is dropped or added per slot.
  if (slot_columns_shown()) return LoadKind::kKept;
  return static_cast<LoadKind>(kind_box_->currentIndex());
}

std::optional<int> HeatmapView::step_layer_index() const {
  if (view_box_->currentIndex() <= 0) return std::nullopt;
  return view_box_->currentIndex() - 1;
}

int HeatmapView::layer_of_row(int row) const {
  if (const auto li = step_layer_index())
    return shown_cube().layer_ids()[static_cast<std::size_t>(*li)];
  return shown_cube().layer_ids()[static_cast<std::size_t>(row)];
}

void HeatmapView::refresh() {
  const bool empty = shown_cube().empty();
  empty_label_->setVisible(empty);
  plot_->setVisible(!empty);
  if (empty) {
    chart_->set_grid({}, {});
    plot_->replot();
    return;
  }
  const bool normalized = normalized_box_->isChecked();
  const auto label = viewdata::load_kind_label(kind());
  const QString kind_text = QString::fromUtf8(label.data(), static_cast<int>(label.size()));
  charts::HeatmapLabels labels;
  labels.device_of_expert = shown_cube().device_of_expert();
  kind_box_->setEnabled(!slot_columns_shown());
  if (slot_columns_shown()) {
    const QSignalBlocker block(kind_box_);
    kind_box_->setCurrentIndex(static_cast<int>(LoadKind::kKept));
  }
  if (slot_columns_shown()) labels.column_label = tr("Slot (replica, by device)");
  labels.value_label = normalized ? tr("%1 load ÷ row mean").arg(kind_text)
                                  : tr("%1 load (token-expert pairs)").arg(kind_text);
  viewdata::Grid grid;
  if (const auto li = step_layer_index()) {
    grid = shown_cube().step_grid(*li, kind(), normalized);
    labels.title = tr("%1 load, steps × experts, layer %2")
                       .arg(kind_text)
                       .arg(shown_cube().layer_ids()[static_cast<std::size_t>(*li)]);
    labels.row_label = tr("Step");
    for (int s = 0; s < shown_cube().steps(); ++s)
      labels.row_ids.push_back(s);
  } else {
    grid = shown_cube().layer_grid(kind(), normalized);
    labels.title = tr("%1 load per layer and expert (mean over %2)")
                       .arg(kind_text, steps_text(shown_cube().steps()));
    labels.row_label = tr("Layer");
    labels.row_ids = shown_cube().layer_ids();
  }
  if (slot_columns_shown()) {
    labels.title =
        step_layer_index()
            ? tr("Rows each replica computed, steps × slots, layer %1").arg(layer_of_row(0))
            : tr("Rows each replica computed, per layer and slot (mean over %1)")
                  .arg(steps_text(shown_cube().steps()));
  }
  // The run's name on its own line: an exported chart says which run it shows.
  if (!run_name_.isEmpty()) labels.title = run_name_ + "\n" + labels.title;
  chart_->set_grid(grid, labels);
  plot_->replot();
}

QString HeatmapView::cell_text(int row, int expert) const {
  const auto& grid = chart_->grid();
  if (row < 0 || row >= grid.rows || expert < 0 || expert >= grid.cols) return {};
  const int layer = layer_of_row(row);
  const int li = shown_cube().layer_index(layer);
  const int device = shown_cube().device_of_expert()[static_cast<std::size_t>(expert)];
  auto value = [&](LoadKind k) -> QString {
    if (step_layer_index()) return QString::number(shown_cube().value(row, li, expert, k));
    return QString::number(shown_cube().mean_over_steps(li, expert, k), 'f', 1);
  };
  QString where = step_layer_index() ? tr("Step %1, layer %2").arg(row).arg(layer)
                                     : tr("Layer %1 (mean over steps)").arg(layer);
  if (slot_columns_shown()) {
    const auto plan = slot_expert_.find(layer);
    const int logical =
        plan != slot_expert_.end() && static_cast<std::size_t>(expert) < plan->second.size()
            ? plan->second[static_cast<std::size_t>(expert)]
            : -1;
    return tr("%1, slot %2 on device %3: a replica of expert %4\nrows %5\nshown: %6")
        .arg(where)
        .arg(expert)
        .arg(device)
        .arg(logical)
        .arg(value(LoadKind::kKept))
        .arg(grid.at(row, expert), 0, 'f', 3);
  }
  return tr("%1, expert %2 on device %3\nrouted %4 · kept %5 · dropped %6 · added %7\n"
            "shown: %8")
      .arg(where)
      .arg(expert)
      .arg(device)
      .arg(value(LoadKind::kRouted), value(LoadKind::kKept), value(LoadKind::kDropped),
           value(LoadKind::kAdded))
      .arg(grid.at(row, expert), 0, 'f', 3);
}

void HeatmapView::select_cell(int layer, int expert) {
  if (shown_cube().empty()) return;
  int row = -1;
  if (const auto li = step_layer_index()) {
    if (shown_cube().layer_ids()[static_cast<std::size_t>(*li)] != layer) {
      chart_->mark_cell(std::nullopt);
      plot_->replot();
      return;
    }
    row = 0;  // the whole column is that layer; mark the first step
  } else {
    row = shown_cube().layer_index(layer);
  }
  int column = expert;
  if (slot_columns_shown()) {  // the expert's first replica in this layer's plan
    const auto plan = slot_expert_.find(layer);
    if (plan == slot_expert_.end()) return;
    const auto it = std::find(plan->second.begin(), plan->second.end(), expert);
    if (it == plan->second.end()) return;
    column = static_cast<int>(it - plan->second.begin());
  }
  if (row < 0 || column < 0 || column >= shown_cube().experts()) return;
  chart_->mark_cell(charts::HeatmapCell{row, column});
  plot_->replot();
}

bool HeatmapView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && !shown_cube().empty()) {
    if (event->type() == QEvent::MouseMove) {
      auto* e = static_cast<QMouseEvent*>(event);
      const auto cell = chart_->cell_at(e->position().x(), e->position().y());
      if (cell) {
        QToolTip::showText(e->globalPosition().toPoint(), cell_text(cell->row, cell->expert),
                           plot_);
      } else {
        QToolTip::hideText();
      }
    } else if (event->type() == QEvent::MouseButtonRelease) {
      auto* e = static_cast<QMouseEvent*>(event);
      if (const auto cell = chart_->cell_at(e->position().x(), e->position().y())) {
        const int layer = layer_of_row(cell->row);
        chart_->mark_cell(cell);
        plot_->replot();
        int expert = cell->expert;
        if (slot_columns_shown()) {  // the other views show logical experts
          const auto plan = slot_expert_.find(layer);
          if (plan == slot_expert_.end() ||
              static_cast<std::size_t>(expert) >= plan->second.size()) {
            return QWidget::eventFilter(watched, event);
          }
          expert = plan->second[static_cast<std::size_t>(expert)];
        }
        emit cell_selected(layer, expert);
      }
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace moescope::gui
