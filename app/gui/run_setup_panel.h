// The run-setup panel: it edits an Experiment (core/run/experiment.h), the same request the CLI
// fills from its flags: model, tokens, routing, policy, devices, backend and seed; Run, Compare
// policies, Cancel and the progress of the current run.
#pragma once

#include <QWidget>

#include "core/run/experiment.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace moescope::gui {

class RunSetupPanel : public QWidget {
  Q_OBJECT

 public:
  explicit RunSetupPanel(QWidget* parent = nullptr);

  // The experiment the widgets describe: the chosen policy beside the baseline, or with
  // `compare` every policy. Throws Error naming a field that does not parse.
  Experiment experiment(bool compare) const;
  // Shows an experiment: of several policies, gammas or device counts, the first.
  void set_experiment(const Experiment& experiment);

  // The panel's experiment across restarts (QSettings "run_setup/experiment", as JSON). Saving
  // skips a panel whose fields do not parse, so a half-typed placement never replaces good
  // settings; settings that do not read as an experiment are ignored.
  void save_settings() const;
  void restore_settings();

  void set_busy(bool busy);
  void set_progress(qint64 done, qint64 total);
  void set_status(const QString& text);
  // The session the next run is stored in, shown above the Run button.
  void set_target_session(const QString& path);
  QString target_session_text() const;
  // What the scale rounded down (shown under it); empty when it divides the model's sizes.
  QString scale_note_text() const;

  QPushButton* run_button() const { return run_button_; }
  QPushButton* compare_button() const { return compare_button_; }
  QPushButton* cancel_button() const { return cancel_button_; }

 signals:
  void run_clicked(bool compare);
  void cancel_clicked();

 private:
  void update_scale_note();
  void update_enabled();

  QComboBox* preset_ = nullptr;
  QLineEdit* spec_file_ = nullptr;
  QLineEdit* weights_dir_ = nullptr;
  QSpinBox* scale_ = nullptr;
  QSpinBox* tokens_ = nullptr;
  QSpinBox* steps_ = nullptr;
  QSpinBox* repeats_ = nullptr;
  QLineEdit* layers_ = nullptr;
  QComboBox* routing_ = nullptr;
  QDoubleSpinBox* skew_ = nullptr;
  QLineEdit* logits_file_ = nullptr;
  QComboBox* policy_ = nullptr;
  QDoubleSpinBox* gamma_ = nullptr;
  QSpinBox* m_ = nullptr;
  QComboBox* capacity_scope_ = nullptr;
  QSpinBox* replicas_ = nullptr;
  QComboBox* replica_choice_ = nullptr;
  QComboBox* priority_ = nullptr;
  QComboBox* reroute_scope_ = nullptr;
  QCheckBox* renormalize_ = nullptr;
  QSpinBox* devices_ = nullptr;
  QLineEdit* placement_ = nullptr;
  // A sweep: lists that, when given, replace the single γ, m and device count above.
  QLineEdit* sweep_gammas_ = nullptr;
  QLineEdit* sweep_ms_ = nullptr;
  QLineEdit* sweep_devices_ = nullptr;
  QComboBox* backend_ = nullptr;
  QComboBox* timing_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QPushButton* run_button_ = nullptr;
  QPushButton* compare_button_ = nullptr;
  QPushButton* cancel_button_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* status_ = nullptr;
  QLabel* scale_note_ = nullptr;
  QLabel* target_ = nullptr;
  bool busy_ = false;
};

}  // namespace moescope::gui
