#include "app/gui/views/overview_view.h"

#include <algorithm>

#include <QLocale>

#include <QTabWidget>

#include <QTableWidget>

#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "app/gui/models/layer_table_model.h"
#include "app/gui/models/metrics_table_model.h"

namespace moescope::gui {
namespace {

QTableView* make_table(QAbstractItemModel* model, QWidget* parent) {
  auto* table = new QTableView(parent);
  table->setModel(model);
  table->setSelectionBehavior(QAbstractItemView::SelectRows);
  table->setSelectionMode(QAbstractItemView::SingleSelection);
  table->setAlternatingRowColors(true);
  table->verticalHeader()->hide();
  table->horizontalHeader()->setStretchLastSection(true);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  return table;
}

}  // namespace

OverviewView::OverviewView(QWidget* parent) : QWidget(parent) {
  metrics_model_ = new MetricsTableModel(this);
  layer_model_ = new LayerTableModel(this);

  header_ = new QLabel(this);
  header_->setWordWrap(true);
  header_->setTextFormat(Qt::RichText);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  metrics_table_ = make_table(metrics_model_, this);
  layer_table_ = make_table(layer_model_, this);
  spec_ = new QPlainTextEdit(this);
  spec_->setReadOnly(true);
  spec_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  spec_->setToolTip(tr("The whole request, as stored: enough to reproduce the run"));

  auto* top = new QSplitter(Qt::Horizontal, this);
  top->addWidget(metrics_table_);
  top->addWidget(spec_);
  top->setStretchFactor(0, 3);
  top->setStretchFactor(1, 2);
  devices_table_ = new QTableWidget(this);
  devices_table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  devices_table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  devices_table_->setSelectionMode(QAbstractItemView::SingleSelection);
  devices_table_->setAlternatingRowColors(true);
  devices_table_->verticalHeader()->hide();
  devices_table_->horizontalHeader()->setStretchLastSection(true);
  devices_table_->setToolTip(
      tr("Where the expert time went, per device (means per layer). Click a device to see its "
         "first straggling layer in the timeline."));
  lower_ = new QTabWidget(this);
  lower_->setDocumentMode(true);
  lower_->addTab(layer_table_, tr("Layers"));
  lower_->addTab(devices_table_, tr("Devices"));
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(top);
  split->addWidget(lower_);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(header_);
  layout->addWidget(split, 1);

  connect(
      layer_table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
      [this](const QModelIndex& current) {
        if (!current.isValid()) return;
        emit layer_selected(layer_model_->rows()[static_cast<std::size_t>(current.row())].layer);
      });
  connect(devices_table_, &QTableWidget::cellClicked, this, [this](int row, int) {
    if (timeline_ == nullptr || row < 0 || row >= static_cast<int>(device_rows_.size())) return;
    const viewdata::DeviceSummaryRow& d = device_rows_[static_cast<std::size_t>(row)];
    const auto& layers = timeline_->layers();
    if (layers.empty()) return;
    const int slot = std::max(d.first_straggler_slot, 0);
    const int expert = d.busiest.empty() ? -1 : d.busiest.front().expert;
    emit device_activated(layers[static_cast<std::size_t>(slot)].layer, expert);
  });
  show_run(nullptr);
}

void OverviewView::show_devices(std::shared_ptr<const viewdata::TimelineData> timeline) {
  timeline_ = std::move(timeline);
  device_rows_ = timeline_ ? viewdata::summarize_devices(*timeline_)
                           : std::vector<viewdata::DeviceSummaryRow>{};
  devices_table_->clear();
  devices_table_->setColumnCount(5);
  devices_table_->setHorizontalHeaderLabels({tr("Device"), tr("Busy (µs)"), tr("Straggler (%)"),
                                             tr("Idle (%)"), tr("Busiest experts (µs)")});
  devices_table_->setRowCount(static_cast<int>(device_rows_.size()));
  const auto number = [](double value, int decimals) {
    auto* item = new QTableWidgetItem(QLocale().toString(value, 'f', decimals));
    item->setData(Qt::UserRole, value);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return item;
  };
  for (std::size_t r = 0; r < device_rows_.size(); ++r) {
    const viewdata::DeviceSummaryRow& d = device_rows_[r];
    const int row = static_cast<int>(r);
    devices_table_->setItem(row, 0, number(d.device, 0));
    devices_table_->setItem(row, 1, number(d.busy_ns / 1e3, 1));
    devices_table_->setItem(row, 2, number(d.straggler_share * 100, 0));
    devices_table_->setItem(row, 3, number(d.idle_share * 100, 1));
    QStringList experts;
    for (const auto& e : d.busiest)
      experts << tr("e%1 %2").arg(e.expert).arg(QLocale().toString(e.ns / 1e3, 'f', 1));
    devices_table_->setItem(row, 4, new QTableWidgetItem(experts.join("   ")));
  }
  devices_table_->resizeColumnsToContents();
}

void OverviewView::show_run(const viewdata::RunData* run) {
  metrics_model_->set_run(run);
  layer_model_->set_run(run);
  if (run == nullptr) {
    header_->setText(
        tr("<b>No run selected.</b> Pick a run in the tree on the left, or press "
           "<b>Run</b> in the run-setup panel."));
    spec_->clear();
    return;
  }
  const StoredRun& r = run->run;
  auto esc = [](const std::string& s) { return QString::fromStdString(s).toHtmlEscaped(); };
  QString status = esc(r.status);
  if (r.status != "complete") status = "<span style='color:#c0392b'>" + status + "</span>";
  header_->setText(
      tr("<b>%1</b> &nbsp;·&nbsp; run #%2 &nbsp;·&nbsp; %3<br>%4 &nbsp;·&nbsp; policy %5 "
         "&nbsp;·&nbsp; %6 tokens × %7 steps &nbsp;·&nbsp; %8 devices &nbsp;·&nbsp; backend %9 "
         "&nbsp;·&nbsp; timing <b>%10</b> (%11)")
          .arg(esc(r.name))
          .arg(r.id)
          .arg(status, esc(r.model), esc(r.policy))
          .arg(r.tokens)
          .arg(r.steps)
          .arg(r.devices)
          .arg(esc(r.backend), esc(r.timing), esc(r.collector)));
  spec_->setPlainText(QString::fromStdString(viewdata::pretty_request_json(r.request_json)));
  metrics_table_->resizeColumnsToContents();
  layer_table_->resizeColumnsToContents();
}

void OverviewView::select_layer(int layer) {
  const int row = layer_model_->row_of_layer(layer);
  if (row < 0) return;
  QSignalBlocker block(layer_table_->selectionModel());
  layer_table_->selectRow(row);
  layer_table_->scrollTo(layer_model_->index(row, 0));
}

QString OverviewView::header_text() const {
  return header_->text();
}

}  // namespace moescope::gui
