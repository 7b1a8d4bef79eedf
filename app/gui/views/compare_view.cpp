#include "app/gui/views/compare_view.h"

#include <qcustomplot.h>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include "app/charts/compare_charts.h"

namespace moescope::gui {
namespace {

QCustomPlot* make_plot(QWidget* parent) {
  auto* plot = new QCustomPlot(parent);
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot->setMinimumHeight(240);
  return plot;
}

}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  hint_ = new QLabel(this);
  hint_->setWordWrap(true);
  metrics_plot_ = make_plot(this);
  layers_plot_ = make_plot(this);
  sweep_plot_ = make_plot(this);
  sweep_lost_plot_ = make_plot(this);
  // Legend columns and metric labels follow the chart's width.
  for (QCustomPlot* plot : {metrics_plot_, layers_plot_, sweep_plot_, sweep_lost_plot_})
    plot->installEventFilter(this);
  values_ = new QTableWidget(this);
  values_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  values_->setAlternatingRowColors(true);

  auto* metrics_page = new QSplitter(Qt::Vertical, this);
  metrics_page->addWidget(metrics_plot_);
  metrics_page->addWidget(values_);
  metrics_page->setStretchFactor(0, 3);
  metrics_page->setStretchFactor(1, 1);

  pages_ = new QTabWidget(this);
  pages_->setDocumentMode(true);
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
                     : tr("%1 runs. Bars are relative to the largest value of each metric; the "
                          "table has the exact values.")
                           .arg(runs_.size());
  if (charted.size() < runs_.size()) {
    hint += tr(" %n run(s) without results (incomplete or failed) left out of the charts.", nullptr,
               static_cast<int>(runs_.size() - charted.size()));
  }
  hint_->setText(hint);
  charts::plot_metric_bars(*metrics_plot_, charted);
  charts::plot_layer_latency(*layers_plot_, charted);
  const bool sweep = charts::has_sweep(charted);
  for (int page : {2, 3}) {
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
  values_->clear();
  values_->setRowCount(static_cast<int>(table.runs.size()));
  values_->setColumnCount(static_cast<int>(table.metrics.size()));
  QStringList headers;
  for (const auto& m : table.metrics)
    headers << QString::fromStdString(metric_heading(m));
  values_->setHorizontalHeaderLabels(headers);
  QStringList rows;
  for (const auto& r : table.runs)
    rows << QString::fromStdString(r);
  values_->setVerticalHeaderLabels(rows);
  for (std::size_t r = 0; r < table.values.size(); ++r) {
    for (std::size_t m = 0; m < table.values[r].size(); ++m) {
      const auto& v = table.values[r][m];
      auto* item =
          new QTableWidgetItem(v ? QString::fromStdString(table.texts[r][m]) : QStringLiteral("—"));
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      if (v) item->setData(Qt::UserRole, *v);
      values_->setItem(static_cast<int>(r), static_cast<int>(m), item);
    }
  }
  values_->resizeColumnsToContents();
  for (QCustomPlot* plot : {metrics_plot_, layers_plot_, sweep_plot_, sweep_lost_plot_}) {
    charts::fit_chart_to_width(*plot, plot->width());
    plot->replot();
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
    case 1:
      return layers_plot_;
    case 2:
      return sweep_plot_;
    case 3:
      return sweep_lost_plot_;
    default:
      return metrics_plot_;
  }
}

}  // namespace moescope::gui
