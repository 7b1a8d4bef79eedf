#include "app/gui/views/compare_view.h"

#include <cmath>

#include <qcustomplot.h>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>

#include "app/charts/compare_charts.h"
#include "app/viewdata/metric_text.h"
#include "core/run/metric_table.h"

namespace moescope::gui {
namespace {

QCustomPlot* make_plot(QWidget* parent) {
  auto* plot = new QCustomPlot(parent);
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->setMinimumHeight(240);
  return plot;
}

// Sorts by the number a cell holds rather than by its text ("1 134 ± 12" after "987").
class NumberItem : public QTableWidgetItem {
 public:
  using QTableWidgetItem::QTableWidgetItem;
  bool operator<(const QTableWidgetItem& other) const override {
    const QVariant a = data(Qt::UserRole), b = other.data(Qt::UserRole);
    if (a.isValid() && b.isValid()) return a.toDouble() < b.toDouble();
    if (!a.isValid() && !b.isValid()) return text() < other.text();  // the run names
    return a.isValid() < b.isValid();  // cells without a value sort first
  }
};

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  hint_ = new QLabel(this);
  hint_->setWordWrap(true);
  tradeoff_plot_ = make_plot(this);
  tradeoff_plot_->setMouseTracking(true);
  tradeoff_cost_ = new QComboBox(this);
  for (auto cost : {charts::TradeoffCost::kOutputError, charts::TradeoffCost::kLostPairs,
                    charts::TradeoffCost::kGateMassLost}) {
    tradeoff_cost_->addItem(QString::fromStdString(charts::tradeoff_cost_name(cost)),
                            static_cast<int>(cost));
  }
  tradeoff_cost_->setToolTip(tr("What a policy's speedup is weighed against"));
  connect(tradeoff_cost_, &QComboBox::currentIndexChanged, this, [this] { plot_tradeoff(); });
  connect(tradeoff_plot_, &QCustomPlot::mouseMove, this, &CompareView::on_tradeoff_hover);
  connect(tradeoff_plot_, &QCustomPlot::mousePress, this, &CompareView::on_tradeoff_click);
  // One small chart per headline metric, in its own unit, two to a row.
  auto* metric_grid_widget = new QWidget(this);
  auto* metric_grid = new QGridLayout(metric_grid_widget);
  const auto metrics = headline_metrics();
  for (std::size_t m = 0; m < metrics.size(); ++m) {
    auto* plot = make_plot(metric_grid_widget);
    plot->setMinimumHeight(200);
    plot->setMinimumWidth(240);
    plot->setToolTip(QString::fromUtf8(metrics[m].description.data(),
                                       static_cast<int>(metrics[m].description.size())));
    metric_grid->addWidget(plot, static_cast<int>(m / 2), static_cast<int>(m % 2));
    metric_plots_.push_back(plot);
    plot->setMouseTracking(true);
    connect(plot, &QCustomPlot::mouseMove, this, [this, m, plot](QMouseEvent* event) {
      const QString text = metric_details_at(m, event->pos());
      if (text.isEmpty()) {
        QToolTip::hideText();
      } else {
        QToolTip::showText(event->globalPosition().toPoint(), text, plot);
      }
    });
    // Export chart on this page exports the chart clicked last.
    connect(plot, &QCustomPlot::mousePress, this, [this, plot] { chosen_metric_plot_ = plot; });
  }
  chosen_metric_plot_ = metric_plots_.front();
  auto* metric_scroll = new QScrollArea(this);
  metric_scroll->setWidget(metric_grid_widget);
  metric_scroll->setWidgetResizable(true);
  layers_plot_ = make_plot(this);
  sweep_plot_ = make_plot(this);
  sweep_lost_plot_ = make_plot(this);
  // Legend columns and metric labels follow the chart's width.
  for (QCustomPlot* plot : {tradeoff_plot_, layers_plot_, sweep_plot_, sweep_lost_plot_})
    plot->installEventFilter(this);
  for (QCustomPlot* plot : metric_plots_)
    plot->installEventFilter(this);
  values_ = new QTableWidget(this);
  values_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  values_->setAlternatingRowColors(true);
  // Sortable by a click on a column; in the runs' order until then.
  values_->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
  values_->setSortingEnabled(true);

  auto* metrics_page = new QSplitter(Qt::Vertical, this);
  metrics_page->addWidget(metric_scroll);
  metrics_page->addWidget(values_);
  metrics_page->setStretchFactor(0, 3);
  metrics_page->setStretchFactor(1, 1);

  auto* tradeoff_page = new QWidget(this);
  auto* tradeoff_layout = new QVBoxLayout(tradeoff_page);
  tradeoff_layout->setContentsMargins(0, 0, 0, 0);
  auto* cost_row = new QHBoxLayout;
  cost_row->addWidget(new QLabel(tr("Cost"), tradeoff_page));
  cost_row->addWidget(tradeoff_cost_);
  cost_row->addStretch(1);
  tradeoff_layout->addLayout(cost_row);
  tradeoff_layout->addWidget(tradeoff_plot_, 1);

  pages_ = new QTabWidget(this);
  pages_->setDocumentMode(true);
  pages_->addTab(tradeoff_page, tr("Trade-off"));
  pages_->addTab(metrics_page, tr("Headline metrics"));
  pages_->addTab(layers_plot_, tr("Latency per layer"));
  pages_->addTab(sweep_plot_, tr("Sweep: speedup vs γ"));
  pages_->addTab(sweep_lost_plot_, tr("Sweep: lost pairs vs γ"));

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(hint_);
  layout->addWidget(pages_, 1);
  show_runs({});
}

void CompareView::show_runs(std::vector<viewdata::RunData> runs) {
  runs_ = std::move(runs);
  // Runs without results (incomplete or failed) stay in the table but would leave empty bar
  // slots in the charts.
  std::vector<viewdata::RunData> charted;
  for (const auto& r : runs_) {
    if (!r.metrics.empty()) charted.push_back(r);
  }
  QString hint = runs_.size() < 2
                     ? tr("Select two or more runs in the tree (Ctrl-click or Shift-click, from "
                          "any open session) to compare them.")
                     : tr("%1 runs. Trade-off: hover a point for its run, click to show it. "
                          "Headline metrics: a chart per metric in its own unit, hover a bar for "
                          "its run (Export chart takes the chart clicked last); click a column "
                          "of the table to sort by it.")
                           .arg(runs_.size());
  if (charted.size() < runs_.size()) {
    hint += tr(" %n run(s) without results (incomplete or failed) left out of the charts.", nullptr,
               static_cast<int>(runs_.size() - charted.size()));
  }
  hint_->setText(hint);
  charted_ = charted;
  plot_tradeoff();
  const auto metrics = headline_metrics();
  for (std::size_t m = 0; m < metrics.size() && m < metric_plots_.size(); ++m)
    charts::plot_metric(*metric_plots_[m], charted, metrics[m]);
  charts::plot_layer_latency(*layers_plot_, charted);
  const bool sweep = charts::has_sweep(charted);
  for (int page : {3, 4}) {
    pages_->setTabEnabled(page, sweep);
    pages_->setTabToolTip(page, sweep ? QString()
                                      : tr("Select the runs of a sweep (moescope-cli sweep, two "
                                           "or more γ per policy) to see it against γ"));
  }
  if (sweep) {
    charts::plot_sweep(*sweep_plot_, charted, charts::SweepMetric::kSpeedup);
    charts::plot_sweep(*sweep_lost_plot_, charted, charts::SweepMetric::kLostPairs);
  }

  const charts::RunsMetricTable table = charts::runs_metric_table(runs_);
  values_->setSortingEnabled(false);  // rows would move while they are filled
  values_->clear();
  values_->setRowCount(static_cast<int>(table.runs.size()));
  // The run's name is a column of its own: sorting moves cells, and a row header would stay put.
  values_->setColumnCount(static_cast<int>(table.metrics.size()) + 1);
  QStringList headers = {tr("Run")};
  for (const auto& m : table.metrics)
    headers << QString::fromStdString(metric_heading(m));
  values_->setHorizontalHeaderLabels(headers);
  values_->verticalHeader()->hide();
  for (std::size_t r = 0; r < table.values.size(); ++r) {
    values_->setItem(static_cast<int>(r), 0, new NumberItem(QString::fromStdString(table.runs[r])));
    for (std::size_t m = 0; m < table.values[r].size(); ++m) {
      const auto& v = table.values[r][m];
      auto* item =
          new NumberItem(v ? QString::fromStdString(table.texts[r][m]) : QStringLiteral("—"));
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      if (v) item->setData(Qt::UserRole, *v);
      values_->setItem(static_cast<int>(r), static_cast<int>(m) + 1, item);
    }
  }
  values_->resizeColumnsToContents();
  values_->setSortingEnabled(true);
  std::vector<QCustomPlot*> plots = {layers_plot_, sweep_plot_, sweep_lost_plot_};
  plots.insert(plots.end(), metric_plots_.begin(), metric_plots_.end());
  for (QCustomPlot* plot : plots) {
    charts::fit_chart_to_width(*plot, plot->width());
    plot->replot();
  }
}

void CompareView::plot_tradeoff() {
  const auto cost = static_cast<charts::TradeoffCost>(tradeoff_cost_->currentData().toInt());
  tradeoff_points_ = charts::tradeoff_points(charted_, cost);
  charts::plot_tradeoff(*tradeoff_plot_, charted_, cost);
  charts::fit_chart_to_width(*tradeoff_plot_, tradeoff_plot_->width());
  tradeoff_plot_->replot();
}

const charts::TradeoffPoint* CompareView::point_at(const QPoint& pos) const {
  const charts::TradeoffPoint* nearest = nullptr;
  double best = 10.0 * 10.0;  // pixels, squared
  for (const auto& p : tradeoff_points_) {
    const double dx = tradeoff_plot_->xAxis->coordToPixel(p.cost) - pos.x();
    const double dy = tradeoff_plot_->yAxis->coordToPixel(p.speedup) - pos.y();
    if (dx * dx + dy * dy <= best) {
      best = dx * dx + dy * dy;
      nearest = &p;
    }
  }
  return nearest;
}

void CompareView::on_tradeoff_hover(QMouseEvent* event) {
  const charts::TradeoffPoint* p = point_at(event->pos());
  if (p == nullptr) {
    QToolTip::hideText();
    return;
  }
  const viewdata::RunData& run = charted_[p->run];
  const MetricRow* speedup = run.metric_row("speedup");
  QString text = QString::fromStdString(run.display_name()) + "\n" +
                 tr("speedup %1×").arg(p->speedup, 0, 'f', 2);
  if (speedup != nullptr && speedup->low && speedup->high) {
    text +=
        tr(" (95% interval %1–%2)").arg(*speedup->low, 0, 'f', 2).arg(*speedup->high, 0, 'f', 2);
  }
  text += "\n" + tr("%1: %2").arg(tradeoff_cost_->currentText()).arg(p->cost, 0, 'g', 4);
  if (p->pareto) text += "\n" + tr("on the Pareto front");
  text += "\n" + tr("click to show this run");
  QToolTip::showText(event->globalPosition().toPoint(), text, tradeoff_plot_);
}

void CompareView::on_tradeoff_click(QMouseEvent* event) {
  if (const charts::TradeoffPoint* p = point_at(event->pos())) {
    const viewdata::RunData& run = charted_[p->run];
    emit run_clicked(run.session_path, run.run.id);
  }
}

bool CompareView::eventFilter(QObject* watched, QEvent* event) {
  if (event->type() == QEvent::Resize) {
    auto* plot = qobject_cast<QCustomPlot*>(watched);
    if (plot != nullptr) charts::fit_chart_to_width(*plot, plot->width());
  }
  return QWidget::eventFilter(watched, event);
}

QCustomPlot* CompareView::current_plot() const {
  switch (pages_->currentIndex()) {
    case 0:
      return tradeoff_plot_;
    case 2:
      return layers_plot_;
    case 3:
      return sweep_plot_;
    case 4:
      return sweep_lost_plot_;
    default:
      return chosen_metric_plot_;
  }
}

QString CompareView::metric_details_at(std::size_t m, const QPoint& pos) const {
  if (m >= metric_plots_.size()) return {};
  QCustomPlot* plot = metric_plots_[m];
  if (!plot->axisRect()->rect().contains(pos)) return {};
  // Bars stand at 0, 1, 2, ...: one per charted run, 0.7 wide.
  const double key = plot->xAxis->pixelToCoord(pos.x());
  const long index = std::lround(key);
  if (index < 0 || index >= static_cast<long>(charted_.size()) ||
      std::abs(key - static_cast<double>(index)) > 0.45) {
    return {};
  }
  const auto metrics = headline_metrics();  // by value: keep the vector alive
  const MetricInfo& metric = metrics[m];
  const viewdata::RunData& run = charted_[static_cast<std::size_t>(index)];
  QString text =
      QString::fromStdString(run.display_name()) + "\n" +
      QString::fromUtf8(metric.label.data(), static_cast<qsizetype>(metric.label.size())) + ": " +
      QString::fromStdString(viewdata::format_stored(metric, run));
  if (!metric.unit.empty())
    text += " " + QString::fromUtf8(metric.unit.data(), static_cast<qsizetype>(metric.unit.size()));
  const std::string spread = viewdata::spread_text(metric, run);
  if (!spread.empty()) text += "\n" + QString::fromStdString(spread);
  return text;
}

}  // namespace moescope::gui
