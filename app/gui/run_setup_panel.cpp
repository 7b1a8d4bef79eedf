#include "app/gui/run_setup_panel.h"

#include <algorithm>

#include <functional>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include <nlohmann/json.hpp>

#include "app/gui/number_list.h"
#include "core/base/cpu_features.h"
#include "core/base/error.h"
#include "core/exec/backend.h"
#include "core/exec/backend_registry.h"
#include "core/model/presets.h"
#include "core/run/experiment_json.h"

namespace moescope::gui {
namespace {

QSpinBox* spin(int min, int max, int value, const QString& tip, QWidget* parent) {
  auto* s = new QSpinBox(parent);
  s->setRange(min, max);
  s->setValue(value);
  s->setToolTip(tip);
  s->setGroupSeparatorShown(true);
  return s;
}

QComboBox* combo(const QStringList& items, const QString& tip, QWidget* parent) {
  auto* c = new QComboBox(parent);
  c->addItems(items);
  c->setToolTip(tip);
  return c;
}

// A line edit with a "…" button; `pick` asks the user for the path (empty: nothing chosen).
QWidget* browse_row(QLineEdit* edit, const QString& title,
                    const std::function<QString(QWidget* row)>& pick, QWidget* parent) {
  auto* row = new QWidget(parent);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* browse = new QToolButton(row);
  browse->setText("…");
  browse->setToolTip(title);
  layout->addWidget(edit, 1);
  layout->addWidget(browse);
  QObject::connect(browse, &QToolButton::clicked, row, [edit, pick, row] {
    const QString path = pick(row);
    if (!path.isEmpty()) edit->setText(path);
  });
  return row;
}

QWidget* file_row(QLineEdit* edit, const QString& title, const QString& filter, QWidget* parent) {
  return browse_row(
      edit, title,
      [edit, title, filter](QWidget* row) {
        return QFileDialog::getOpenFileName(row, title, edit->text(), filter);
      },
      parent);
}

QWidget* folder_row(QLineEdit* edit, const QString& title, QWidget* parent) {
  return browse_row(
      edit, title,
      [edit, title](QWidget* row) {
        return QFileDialog::getExistingDirectory(row, title, edit->text());
      },
      parent);
}

}  // namespace

RunSetupPanel::RunSetupPanel(QWidget* parent) : QWidget(parent) {
  // Model
  preset_ = new QComboBox(this);
  for (const auto& name : preset_names())
    preset_->addItem(QString::fromStdString(name));
  preset_->setToolTip(tr("A model preset; a spec file, when given, replaces it"));
  spec_file_ = new QLineEdit(this);
  spec_file_->setPlaceholderText(tr("spec or config.json"));
  spec_file_->setToolTip(
      tr("A MoEScope spec JSON, a Hugging Face config.json or a model "
         "folder; it replaces the preset"));
  weights_dir_ = new QLineEdit(this);
  weights_dir_->setPlaceholderText(tr("synthetic, or a folder"));
  weights_dir_->setToolTip(
      tr("A Hugging Face model folder whose checkpoint gives every layer's expert weights "
         "(the spec must be its config, at scale 1); empty for seeded synthetic weights"));
  // The first look: the demo's small setup, so that a first Run takes seconds on a CPU.
  const Experiment first = demo_experiment();
  // Ranges start at 0: a typed 0 stays in the field and Run refuses it with a message, where a
  // minimum of 1 would quietly turn it into 1.
  scale_ = spin(0, 64, first.model.scale,
                tr("Divide the hidden and FFN sizes by this (quick runs on a CPU)"), this);
  tokens_ = spin(0, 1 << 20, first.routing.tokens, tr("Tokens per step (batch × sequence)"), this);
  steps_ = spin(0, 10000, first.steps, tr("Forward passes; each step routes new tokens"), this);
  repeats_ = spin(0, 1000, first.repeats,
                  tr("Times every layer is timed, after a warm-up: its latency is the median, "
                     "with a 95% interval"),
                  this);
  layers_ = new QLineEdit(this);
  layers_->setPlaceholderText(tr("all, or 0,5,11"));
  layers_->setToolTip(tr("The MoE layers to run, comma separated; empty for every layer"));
  auto* model_box = new QGroupBox(tr("Model"), this);
  auto* model_form = new QFormLayout(model_box);
  model_form->addRow(tr("Preset"), preset_);
  model_form->addRow(tr("Spec file"),
                     file_row(spec_file_, tr("Load a model spec"), tr("JSON (*.json)"), this));
  model_form->addRow(tr("Weights"),
                     folder_row(weights_dir_, tr("A model folder with its checkpoint"), this));
  model_form->addRow(tr("Scale ÷"), scale_);
  // What the scale rounded, when it does not divide the model's sizes.
  scale_note_ = new QLabel(this);
  scale_note_->setWordWrap(true);
  scale_note_->setStyleSheet("color: #8a5a00;");
  scale_note_->setVisible(false);
  model_form->addRow(scale_note_);
  model_form->addRow(tr("Tokens"), tokens_);
  model_form->addRow(tr("Steps"), steps_);
  model_form->addRow(tr("Repeats"), repeats_);
  model_form->addRow(tr("Layers"), layers_);

  // Routing
  routing_ =
      combo({tr("Synthetic"), tr("Recorded file")},
            tr("Where the routing comes from: a seeded generator, or a file of recorded router "
               "logits (scripts/capture_routing.py) or of the experts a serving engine chose "
               "(a load dump, scripts/convert_load_dump.py)"),
            this);
  skew_ = new QDoubleSpinBox(this);
  skew_->setRange(0, 5);
  skew_->setSingleStep(0.1);
  skew_->setValue(first.routing.skew);
  skew_->setToolTip(
      tr("How hot the popular experts are: 0 is uniform; 0.5–0.75 matches the "
         "drop rates the paper measured on OLMoE at γ = 1"));
  logits_file_ = new QLineEdit(this);
  logits_file_->setPlaceholderText(tr("router_logits, or topk_ids of a load dump"));
  auto* routing_box = new QGroupBox(tr("Routing"), this);
  auto* routing_form = new QFormLayout(routing_box);
  routing_form->addRow(tr("Source"), routing_);
  routing_form->addRow(tr("Skew"), skew_);
  routing_form->addRow(tr("File"), file_row(logits_file_, tr("Recorded routing"),
                                            tr("safetensors (*.safetensors)"), this));

  // Policy
  policy_ = combo({"none", "drop", "expanded", "reroute"},
                  tr("none: the baseline. drop: capacity-aware token drop. expanded: drop, then "
                     "let under-loaded experts take m more. reroute: move overflow to other "
                     "experts"),
                  this);
  policy_->setCurrentText(QString::fromStdString(policy_name(first.policies.kinds.front())));
  gamma_ = new QDoubleSpinBox(this);
  gamma_->setRange(0, 1000);
  gamma_->setDecimals(2);
  gamma_->setSingleStep(0.25);
  gamma_->setValue(first.policies.gammas.front());
  gamma_->setToolTip(tr("Capacity factor γ: each expert takes at most ⌈γ·T·k/E⌉ tokens"));
  m_ = spin(0, 64, first.policies.ms.front(),
            tr("Expanded drop: extra candidate experts per token"), this);
  capacity_scope_ = combo({"global", "source", "device"},
                          tr("global: one capacity per expert; source: per sending device and "
                             "expert; device: one capacity ⌈γ·T·k/D⌉ per receiving device"),
                          this);
  priority_ =
      combo({"score", "position", "random"}, tr("Which tokens an over-full expert keeps"), this);
  reroute_scope_ =
      combo({"any", "local"}, tr("Reroute to any expert, or only on the same device"), this);
  renormalize_ = new QCheckBox(tr("Renormalise kept weights"), this);
  auto* policy_box = new QGroupBox(tr("Policy"), this);
  auto* policy_form = new QFormLayout(policy_box);
  policy_form->addRow(tr("Policy"), policy_);
  policy_form->addRow(tr("γ"), gamma_);
  policy_form->addRow(tr("m"), m_);
  policy_form->addRow(tr("Capacity"), capacity_scope_);
  policy_form->addRow(tr("Priority"), priority_);
  policy_form->addRow(tr("Reroute"), reroute_scope_);
  policy_form->addRow(renormalize_);

  // Devices
  devices_ = spin(0, 1024, 0,
                  tr("Expert-parallel devices; more than exist become virtual "
                     "devices with a composed timeline. auto: min(8, experts)"),
                  this);
  devices_->setSpecialValueText(tr("auto (min(8, E))"));
  placement_ = new QLineEdit(this);
  placement_->setPlaceholderText(tr("balanced, or 0,0,1,1,…"));
  placement_->setToolTip(
      tr("The device of each expert, comma separated; empty for balanced "
         "blocks"));
  backend_ = new QComboBox(this);
  for (const auto& name : backend_names()) {
    backend_->addItem(QString::fromStdString(name));
    // bf16 on the CPU only where the CPU has the instructions for it.
    if (name == "cpu" && detect_cpu_features().avx512_bf16) backend_->addItem("cpu:bf16");
  }
  // Editable: options follow a colon, as on the command line ("cuda:fp32,gpu=1").
  backend_->setEditable(true);
  backend_->setToolTip(
      tr("Where the experts run: auto takes the GPU when one can be used, else the CPU; cuda "
         "times every expert's GEMMs, cuda-grouped runs one grouped GEMM for all. Options "
         "follow a colon: cpu:bf16 (bf16 weights on CPUs with AVX-512 BF16), cuda:fp32, "
         "cuda:gpu=1"));
  timing_ = combo({"composed", "modeled", "measured"},
                  tr("composed: each layer's timeline from the durations measured. modeled: from "
                     "the loads through this machine's cost model (calibrated first when there "
                     "is none): deterministic, what the loads predict. measured: one process "
                     "per device (mpirun, one rank each), the waiting at each all-to-all real"),
                  this);
  seed_ = spin(0, 1 << 30, 0, tr("Seeds the synthetic routing and weights"), this);
  replicas_ = spin(0, 4096, 0,
                   tr("Redundant expert slots R (DeepSeek's EPLB): the run adds replicate and drop "
                      "on replicas; E + R must split evenly over the devices"),
                   this);
  replicas_->setSpecialValueText(tr("none"));
  replica_choice_ = combo({"round_robin", "local_first"},
                          tr("Which replica a pair goes to: round robin (vLLM) or one on the "
                             "token's own device first (SGLang)"),
                          this);
  // Sweep
  const auto list_field = [this](const QString& placeholder, const QString& tip) {
    auto* field = new QLineEdit(this);
    field->setPlaceholderText(placeholder);
    field->setToolTip(tip);
    connect(field, &QLineEdit::textChanged, this, [this] { update_enabled(); });
    return field;
  };
  sweep_gammas_ = list_field(tr("the γ above, or 0.5,1,1.5,2"),
                             tr("Capacity factors to sweep: one run per γ (and per m and device "
                                "count), all beside one baseline per device count"));
  sweep_ms_ = list_field(tr("the m above, or 0,1,2"), tr("Expanded drop: values of m to sweep"));
  sweep_devices_ = list_field(tr("the devices above, or 4,8"),
                              tr("Device counts to sweep, each with its own baseline"));
  auto* sweep_box = new QGroupBox(tr("Sweep"), this);
  sweep_box->setToolTip(
      tr("Lists here make a sweep: Run sweeps the policy above, Compare policies sweeps drop, "
         "expanded and reroute (as moescope-cli sweep)"));
  auto* sweep_form = new QFormLayout(sweep_box);
  sweep_form->addRow(tr("γ values"), sweep_gammas_);
  sweep_form->addRow(tr("m values"), sweep_ms_);
  sweep_form->addRow(tr("Device counts"), sweep_devices_);

  auto* device_box = new QGroupBox(tr("Devices"), this);
  auto* device_form = new QFormLayout(device_box);
  device_form->addRow(tr("Devices"), devices_);
  device_form->addRow(tr("Placement"), placement_);
  device_form->addRow(tr("Backend"), backend_);
  device_form->addRow(tr("Timing"), timing_);
  device_form->addRow(tr("Seed"), seed_);
  device_form->addRow(tr("Replicas"), replicas_);
  device_form->addRow(tr("Replica choice"), replica_choice_);

  // Each field is named after the CLI option it stands for: the two front-ends fill the same
  // Experiment, and a test drives both with the same settings.
  const std::pair<QWidget*, const char*> option_names[] = {{preset_, "preset"},
                                                           {spec_file_, "spec"},
                                                           {weights_dir_, "weights"},
                                                           {scale_, "scale"},
                                                           {tokens_, "tokens"},
                                                           {steps_, "steps"},
                                                           {repeats_, "repeats"},
                                                           {layers_, "layers"},
                                                           {routing_, "routing"},
                                                           {skew_, "skew"},
                                                           {logits_file_, "logits"},
                                                           {policy_, "policy"},
                                                           {gamma_, "gamma"},
                                                           {m_, "m"},
                                                           {capacity_scope_, "capacity-scope"},
                                                           {priority_, "priority"},
                                                           {reroute_scope_, "reroute-scope"},
                                                           {renormalize_, "renormalize"},
                                                           {devices_, "devices"},
                                                           {placement_, "placement"},
                                                           {backend_, "backend"},
                                                           {timing_, "timing"},
                                                           {seed_, "seed"},
                                                           {replicas_, "replicas"},
                                                           {replica_choice_, "replica-choice"},
                                                           {sweep_gammas_, "sweep-gamma"},
                                                           {sweep_ms_, "sweep-m"},
                                                           {sweep_devices_, "sweep-devices"}};
  for (const auto& [widget, name] : option_names)
    widget->setObjectName(name);

  run_button_ = new QPushButton(tr("Run"), this);
  run_button_->setToolTip(tr("Run the baseline and this policy (Ctrl+R)"));
  run_button_->setDefault(true);
  compare_button_ = new QPushButton(tr("Compare policies"), this);
  compare_button_->setToolTip(
      tr("Run the baseline, drop, expanded and reroute on the same routing (Ctrl+Shift+R)"));
  cancel_button_ = new QPushButton(tr("Cancel"), this);
  cancel_button_->setToolTip(tr("Stop the run; what it stored stays marked incomplete (Esc)"));
  progress_ = new QProgressBar(this);
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setTextVisible(false);  // an idle bar saying "0%" reads as "nothing happened"
  target_ = new QLabel(this);
  target_->setWordWrap(true);
  status_ = new QLabel(this);
  status_->setWordWrap(true);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(run_button_);
  buttons->addWidget(compare_button_);
  // The settings scroll; Run, Compare, Cancel and the progress stay in view below them, so a
  // 768-pixel-high screen reaches them without scrolling.
  auto* form = new QWidget(this);
  auto* form_layout = new QVBoxLayout(form);
  form_layout->setContentsMargins(0, 0, 0, 0);
  form_layout->addWidget(model_box);
  form_layout->addWidget(routing_box);
  form_layout->addWidget(policy_box);
  form_layout->addWidget(sweep_box);
  form_layout->addWidget(device_box);
  form_layout->addStretch(1);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(form);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  // As wide as the settings need, so that the dock never clips them.
  scroll->setMinimumWidth(form->minimumSizeHint().width() +
                          scroll->verticalScrollBar()->sizeHint().width());
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(scroll, 1);
  layout->addWidget(target_);
  layout->addLayout(buttons);
  layout->addWidget(cancel_button_);
  layout->addWidget(progress_);
  layout->addWidget(status_);

  connect(run_button_, &QPushButton::clicked, this, [this] { emit run_clicked(false); });
  connect(compare_button_, &QPushButton::clicked, this, [this] { emit run_clicked(true); });
  connect(cancel_button_, &QPushButton::clicked, this, &RunSetupPanel::cancel_clicked);
  auto update = [this] { update_enabled(); };
  connect(routing_, &QComboBox::currentIndexChanged, this, update);
  connect(policy_, &QComboBox::currentIndexChanged, this, update);
  connect(replicas_, &QSpinBox::valueChanged, this, update);
  connect(weights_dir_, &QLineEdit::textChanged, this, update);
  auto note = [this] { update_scale_note(); };
  connect(scale_, &QSpinBox::valueChanged, this, note);
  connect(preset_, &QComboBox::currentTextChanged, this, note);
  connect(spec_file_, &QLineEdit::textChanged, this, note);  // typed or picked with ".."
  connect(weights_dir_, &QLineEdit::textChanged, this, note);
  update_enabled();
  update_scale_note();
}

void RunSetupPanel::update_scale_note() {
  Experiment e;
  e.model.preset = preset_->currentText().toStdString();
  e.model.spec_file = spec_file_->text().trimmed().toStdString();
  e.model.weights_dir = weights_dir_->text().trimmed().toStdString();
  e.model.scale = scale_->value();
  const QString note = QString::fromStdString(scale_note(e));
  scale_note_->setText(note);
  scale_note_->setVisible(!note.isEmpty());
}

QString RunSetupPanel::scale_note_text() const {
  return scale_note_->isVisibleTo(this) ? scale_note_->text() : QString();
}

void RunSetupPanel::update_enabled() {
  const bool replay = routing_->currentIndex() == 1;
  skew_->setEnabled(!busy_ && !replay);
  logits_file_->setEnabled(!busy_ && replay);
  tokens_->setEnabled(!busy_ && !replay);
  scale_->setEnabled(!busy_ && weights_dir_->text().trimmed().isEmpty());
  const QString p = policy_->currentText();
  const auto blank = [](const QLineEdit* field) { return field->text().trimmed().isEmpty(); };
  gamma_->setEnabled(!busy_ && p != "none" && blank(sweep_gammas_));
  m_->setEnabled(!busy_ && p == "expanded" && blank(sweep_ms_));
  devices_->setEnabled(!busy_ && blank(sweep_devices_));
  for (QLineEdit* field : {sweep_gammas_, sweep_ms_, sweep_devices_})
    field->setEnabled(!busy_);
  priority_->setEnabled(!busy_ && p == "drop");
  reroute_scope_->setEnabled(!busy_ && p == "reroute");
  replica_choice_->setEnabled(!busy_ && replicas_->value() > 0);
  run_button_->setEnabled(!busy_);
  compare_button_->setEnabled(!busy_);
  cancel_button_->setEnabled(busy_);
}

Experiment RunSetupPanel::experiment(bool compare) const {
  Experiment e;
  e.model.preset = preset_->currentText().toStdString();
  e.model.spec_file = spec_file_->text().trimmed().toStdString();
  e.model.weights_dir = weights_dir_->text().trimmed().toStdString();
  // Real weights run at their own size: the scale field is off while a weights folder is set.
  e.model.scale = weights_dir_->text().trimmed().isEmpty() ? scale_->value() : 1;
  e.model.layers = parse_number_list(layers_->text().toStdString(), "layers", "0,5,11");
  e.routing.tokens = tokens_->value();
  e.routing.skew = skew_->value();
  if (routing_->currentIndex() == 1) {
    e.routing.tokens = 0;  // the file's (the field is off for a replay)
    e.routing.logits_file = logits_file_->text().trimmed().toStdString();
    if (e.routing.logits_file.empty()) {
      throw Error(
          "routing: choose a recorded routing file (.safetensors) or use synthetic routing");
    }
  }
  e.steps = steps_->value();
  e.repeats = repeats_->value();
  e.seed = static_cast<std::uint64_t>(seed_->value());
  PolicyGrid& g = e.policies;
  g.kinds =
      compare ? compared_kinds() : std::vector{parse_policy(policy_->currentText().toStdString())};
  g.gammas =
      parse_positive_list(sweep_gammas_->text().toStdString(), "sweep: γ values", "0.5,1,1.5,2");
  if (g.gammas.empty()) g.gammas = {gamma_->value()};
  g.ms = parse_number_list(sweep_ms_->text().toStdString(), "sweep: m values", "0,1,2");
  if (g.ms.empty()) g.ms = {m_->value()};
  g.capacity_scope = parse_capacity_scope(capacity_scope_->currentText().toStdString());
  g.priority = parse_priority(priority_->currentText().toStdString());
  g.reroute_scope = parse_reroute_scope(reroute_scope_->currentText().toStdString());
  g.renormalize = renormalize_->isChecked();
  if (devices_->value() > 0) e.devices = {devices_->value()};
  const std::vector<int> device_counts =
      parse_number_list(sweep_devices_->text().toStdString(), "sweep: device counts", "4,8");
  if (!device_counts.empty()) e.devices = device_counts;
  e.placement = parse_number_list(placement_->text().toStdString(), "placement", "0,0,1,1");
  e.backend = backend_->currentText().toStdString();
  e.timing = timing_->currentText().toStdString();
  e.replication.replicas = replicas_->value();
  e.replication.choice = parse_replica_choice(replica_choice_->currentText().toStdString());
  // What the fields allow but a run does not (a 0 typed in), named as the CLI names it.
  validate_values(e);
  return e;
}

void RunSetupPanel::set_experiment(const Experiment& e) {
  const auto text = [](const std::string& s) { return QString::fromStdString(s); };
  preset_->setCurrentText(text(e.model.preset));
  spec_file_->setText(text(e.model.spec_file));
  weights_dir_->setText(text(e.model.weights_dir));
  scale_->setValue(e.model.scale);
  layers_->setText(text(format_number_list(e.model.layers)));
  if (e.routing.tokens > 0) tokens_->setValue(e.routing.tokens);
  skew_->setValue(e.routing.skew);
  routing_->setCurrentIndex(e.routing.replay() ? 1 : 0);
  logits_file_->setText(text(e.routing.logits_file));
  steps_->setValue(e.steps);
  repeats_->setValue(e.repeats);
  seed_->setValue(static_cast<int>(std::min<std::uint64_t>(e.seed, 1u << 30)));
  const PolicyGrid& g = e.policies;
  if (!g.kinds.empty()) policy_->setCurrentText(text(policy_name(g.kinds.front())));
  if (!g.gammas.empty()) gamma_->setValue(g.gammas.front());
  if (!g.ms.empty()) m_->setValue(g.ms.front());
  // Lists go to the sweep fields; a single value stays in its own field.
  sweep_gammas_->setText(g.gammas.size() > 1 ? text(format_positive_list(g.gammas)) : QString());
  sweep_ms_->setText(g.ms.size() > 1 ? text(format_number_list(g.ms)) : QString());
  sweep_devices_->setText(e.devices.size() > 1 ? text(format_number_list(e.devices)) : QString());
  capacity_scope_->setCurrentText(text(capacity_scope_name(g.capacity_scope)));
  priority_->setCurrentText(text(priority_name(g.priority)));
  reroute_scope_->setCurrentText(text(reroute_scope_name(g.reroute_scope)));
  renormalize_->setChecked(g.renormalize);
  devices_->setValue(e.devices.empty() ? 0 : e.devices.front());
  placement_->setText(text(format_number_list(e.placement)));
  backend_->setCurrentText(text(e.backend));
  timing_->setCurrentText(text(e.timing));
  replicas_->setValue(e.replication.replicas);
  replica_choice_->setCurrentText(text(replica_choice_name(e.replication.choice)));
  update_scale_note();  // the fields above were set one by one: this is the whole model
}

void RunSetupPanel::save_settings() const {
  Experiment e;
  try {
    e = experiment(false);
  } catch (const std::exception&) {
    return;
  }
  QSettings s;
  s.setValue("run_setup/experiment", QString::fromStdString(experiment_to_json(e).dump()));
}

void RunSetupPanel::restore_settings() {
  const QString saved = QSettings().value("run_setup/experiment").toString();
  if (saved.isEmpty()) return;
  // An older or edited settings file may not read as an experiment: keep the defaults then.
  try {
    set_experiment(experiment_from_json(nlohmann::json::parse(saved.toStdString()), "settings"));
  } catch (const std::exception&) {
  }
}

void RunSetupPanel::set_busy(bool busy) {
  busy_ = busy;
  for (auto* box : findChildren<QGroupBox*>())
    box->setEnabled(!busy);
  if (busy) {
    progress_->setRange(0, 0);  // busy indicator until the first progress report
    status_->setText(tr("Running…"));
  } else {
    progress_->setRange(0, 1);
    progress_->setValue(0);
    progress_->setTextVisible(false);
  }
  update_enabled();
}

void RunSetupPanel::set_progress(qint64 done, qint64 total) {
  if (total <= 0) {  // no count: busy until the run ends (ranks)
    progress_->setRange(0, 0);
    status_->setText(tr("Running…"));
    return;
  }
  // QProgressBar takes int; scale to per-mille so huge totals still fit.
  progress_->setRange(0, 1000);
  progress_->setValue(static_cast<int>(1000 * done / total));
  progress_->setTextVisible(true);
  status_->setText(tr("Running… %1 of %2").arg(done).arg(total));
}

void RunSetupPanel::set_target_session(const QString& path) {
  const QString name = path.isEmpty() ? tr("your default session") : QFileInfo(path).fileName();
  target_->setText(tr("Stores runs in <b>%1</b>").arg(name.toHtmlEscaped()));
  target_->setToolTip(path);
}

QString RunSetupPanel::target_session_text() const {
  return target_->text();
}

void RunSetupPanel::set_status(const QString& text) {
  status_->setText(text);
}

}  // namespace moescope::gui
