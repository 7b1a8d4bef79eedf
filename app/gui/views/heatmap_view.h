// Load heatmap: layers x experts (or steps x experts for one layer), with a selector for the
// kind of load and for normalising by the mean. Hover shows the numbers; a click selects the
// layer and expert in the other views.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <QWidget>

#include "app/charts/heatmap_chart.h"
#include "app/viewdata/load_cube.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;

namespace moescope::gui {

class HeatmapView : public QWidget {
  Q_OBJECT

 public:
  explicit HeatmapView(QWidget* parent = nullptr);
  ~HeatmapView() override;

  // Shows a cube shared with whoever loaded it (no copy: cubes of long runs are large).
  // The run the next show_loads shows, named in the chart's title.
  void set_run_name(const QString& name) { run_name_ = name; }
  void show_loads(std::shared_ptr<const viewdata::LoadCube> cube);
  void show_loads(viewdata::LoadCube cube);
  // A replicated run also has its physical slots: offers them as the columns, `slot_expert`
  // giving each layer's plan (layer number -> the logical expert of every slot).
  void show_slots(std::shared_ptr<const viewdata::LoadCube> slot_cube,
                  std::map<int, std::vector<int>> slot_expert);
  void clear();
  // Columns: logical experts (false) or the physical slots of a replicated run (true).
  void show_slot_columns(bool on);
  bool slot_columns_shown() const;

  // What the selector shows; `step_layer` is a layer number for the steps x experts view, or
  // nullopt for layers x experts.
  void set_selection(viewdata::LoadKind kind, bool normalized, std::optional<int> step_layer);
  // Marks a cell (the layer row in layers x experts view).
  void select_cell(int layer, int expert);

  QCustomPlot* plot() const { return plot_; }
  const charts::HeatmapChart& chart() const { return *chart_; }
  const viewdata::LoadCube& cube() const { return *cube_; }
  // The hover text of a cell, as the tooltip shows it.
  QString cell_text(int row, int expert) const;

 signals:
  void cell_selected(int layer, int expert);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void refresh();
  viewdata::LoadKind kind() const;
  std::optional<int> step_layer_index() const;
  int layer_of_row(int row) const;
  const viewdata::LoadCube& shown_cube() const;

  std::shared_ptr<const viewdata::LoadCube> cube_ = std::make_shared<const viewdata::LoadCube>();
  QComboBox* kind_box_ = nullptr;
  QCheckBox* normalized_box_ = nullptr;
  QComboBox* view_box_ = nullptr;
  QLabel* columns_label_ = nullptr;
  QComboBox* columns_box_ = nullptr;
  std::shared_ptr<const viewdata::LoadCube> slot_cube_;
  std::map<int, std::vector<int>> slot_expert_;
  QLabel* empty_label_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  std::unique_ptr<charts::HeatmapChart> chart_;
  QString run_name_;
};

}  // namespace moescope::gui
