// The CLI and the run-setup panel are two front-ends of one request: the same settings typed
// into either give the same experiment JSON, down to the defaults.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QProcess>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include "app/gui/run_setup_panel.h"
#include "core/base/error.h"
#include "core/run/experiment_json.h"
#include "tests/gui/gui_test_support.h"

namespace moescope {

class FrontEndsTest : public QObject {
  Q_OBJECT

  // The CLI's experiment for these options, as `run --print-request` prints it.
  static nlohmann::json cli_request(const QStringList& options) {
    QProcess cli;
    cli.start(MOESCOPE_CLI_PATH, QStringList{"run"} + options + QStringList{"--print-request"});
    if (!cli.waitForFinished(30000) || cli.exitCode() != 0) {
      qWarning() << cli.readAllStandardError();
      return nullptr;
    }
    return nlohmann::json::parse(cli.readAllStandardOutput().toStdString());
  }

  // Sets the panel's fields as a user would, from the same options: each field is named after
  // its option. Flags ("--renormalize") tick their box; "--logits" also switches the routing.
  static void type_into(gui::RunSetupPanel& panel, const QStringList& options) {
    for (int i = 0; i < options.size(); ++i) {
      const QString name = options[i].mid(2);
      QWidget* field = panel.findChild<QWidget*>(name);
      QVERIFY2(field != nullptr, qPrintable("no field for " + options[i]));
      if (auto* box = qobject_cast<QCheckBox*>(field)) {
        box->setChecked(true);
        continue;
      }
      const QString value = options[++i];
      if (auto* combo = qobject_cast<QComboBox*>(field)) {
        // An editable combo takes what is typed; the others only their items.
        QVERIFY2(combo->isEditable() || combo->findText(value) >= 0,
                 qPrintable(name + " has no " + value));
        combo->setCurrentText(value);
      } else if (auto* spin = qobject_cast<QSpinBox*>(field)) {
        spin->setValue(value.toInt());
      } else if (auto* real = qobject_cast<QDoubleSpinBox*>(field)) {
        real->setValue(value.toDouble());
      } else if (auto* line = qobject_cast<QLineEdit*>(field)) {
        line->setText(value);
      }
      if (name == "logits") panel.findChild<QComboBox*>("routing")->setCurrentIndex(1);
    }
  }

  static nlohmann::json panel_request(const QStringList& options, bool compare) {
    gui::RunSetupPanel panel;
    type_into(panel, options);
    return experiment_to_json(panel.experiment(compare));
  }

 private slots:
  void initTestCase() { gui::testing::isolate_user_dirs(dir_.path().toStdString()); }

  void everyFieldGivesTheSameRequest() {
    // Every option the panel has, none at its default.
    const QStringList options = {"--preset",
                                 "mixtral-8x7b",
                                 "--scale",
                                 "16",
                                 "--tokens",
                                 "300",
                                 "--steps",
                                 "3",
                                 "--repeats",
                                 "7",
                                 "--timing",
                                 "modeled",
                                 "--layers",
                                 "1,4",
                                 "--policy",
                                 "expanded",
                                 "--gamma",
                                 "1.5",
                                 "--m",
                                 "2",
                                 "--capacity-scope",
                                 "device",
                                 "--priority",
                                 "position",
                                 "--reroute-scope",
                                 "local",
                                 "--renormalize",
                                 "--devices",
                                 "4",
                                 "--placement",
                                 "0,0,1,1,2,2,3,3",
                                 "--seed",
                                 "9",
                                 "--skew",
                                 "1.25",
                                 "--backend",
                                 "cpu",
                                 "--replicas",
                                 "4",
                                 "--replica-choice",
                                 "local_first"};
    const auto cli = cli_request(options);
    QVERIFY(!cli.is_null());
    QCOMPARE(QString::fromStdString(panel_request(options, false).dump(2)),
             QString::fromStdString(cli.dump(2)));
  }

  void aModelFolderWithItsWeightsAndRouting() {
    const QString folder = QStringLiteral(MOESCOPE_TEST_DATA "/hf_routers/deepseek_v3");
    // The panel's scale (16 for the first look) gives way to the checkpoint's own size.
    const QStringList options = {"--spec",    folder + "/config.json",
                                 "--weights", folder,
                                 "--logits",  folder + "/routing.safetensors",
                                 "--steps",   "1",
                                 "--backend", "cpu"};
    const auto cli = cli_request(options);
    QVERIFY(!cli.is_null());
    QCOMPARE(QString::fromStdString(panel_request(options, false).dump(2)),
             QString::fromStdString(cli.dump(2)));
    QCOMPARE(cli["model"]["weights"], folder.toStdString());
  }

  void aBackendWithOptions() {
    // The panel's backend takes options after a colon, as the command line does.
    const QStringList options = {"--preset", "olmoe-1b-7b", "--scale", "8",         "--tokens",
                                 "64",       "--steps",     "1",       "--backend", "cpu:fp32"};
    const auto cli = cli_request(options);
    QVERIFY(!cli.is_null());
    QCOMPARE(QString::fromStdString(panel_request(options, false).dump(2)),
             QString::fromStdString(cli.dump(2)));
    QCOMPARE(cli["backend"], "cpu:fp32");
  }

  void comparePoliciesIsRunCompare() {
    const QStringList options = {"--preset", "olmoe-1b-7b", "--scale", "8", "--tokens", "1024",
                                 "--steps",  "1",           "--gamma", "1", "--m",      "1"};
    const auto cli = cli_request(options + QStringList{"--compare"});
    QVERIFY(!cli.is_null());
    QCOMPARE(QString::fromStdString(panel_request(options, true).dump(2)),
             QString::fromStdString(cli.dump(2)));
    // With nothing else set, both front-ends leave the device count to the model.
    QCOMPARE(cli["devices"], nlohmann::json::array());
  }

  // The panel's sweep lists with Compare policies are `moescope-cli sweep` with those lists.
  void aSweepFromThePanelIsTheCliSweep() {
    const QStringList model = {"--preset", "olmoe-1b-7b", "--scale", "8",
                               "--tokens", "256",         "--steps", "1"};
    QProcess cli;
    cli.start(MOESCOPE_CLI_PATH, QStringList{"sweep"} + model +
                                     QStringList{"--gamma", "0.5,1,2", "--m", "0,2", "--devices",
                                                 "4,8", "--print-request"});
    QVERIFY(cli.waitForFinished(30000) && cli.exitCode() == 0);
    const auto expected = nlohmann::json::parse(cli.readAllStandardOutput().toStdString());
    const auto panel = panel_request(model + QStringList{"--sweep-gamma", "0.5, 1,2", "--sweep-m",
                                                         "0,2", "--sweep-devices", "4,8"},
                                     true);
    QCOMPARE(QString::fromStdString(panel.dump(2)), QString::fromStdString(expected.dump(2)));
    // A 0 typed where a run needs more stays in the field and is refused, not quietly raised.
    for (const auto& [option, needle] : std::vector<std::pair<QString, QString>>{
             {"--gamma", "gamma must be a finite number > 0, got 0"},
             {"--tokens", "tokens must be a positive"},
             {"--scale", "scale must be a positive"},
             {"--steps", "steps must be a positive"}}) {
      gui::RunSetupPanel zero;
      type_into(zero, {option, "0"});
      try {
        zero.experiment(false);
        QFAIL(qPrintable(option + " 0 was accepted"));
      } catch (const Error& e) {
        QVERIFY2(QString(e.what()).contains(needle), e.what());
      }
    }
    // A typo is refused with the field's name, not dropped.
    gui::RunSetupPanel typo;
    type_into(typo, {"--sweep-gamma", "0.5,one"});
    try {
      typo.experiment(true);
      QFAIL("a bad gamma list was accepted");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("sweep: γ values: item 2 ('one')"), e.what());
    }
  }

  void aReplayedRoutingAndASpecFile() {
    // A replay runs the file's tokens: neither front-end asks for a count.
    const QStringList options = {"--spec",   "/data/my-model.json",
                                 "--logits", "/data/logits.safetensors",
                                 "--scale",  "1",
                                 "--steps",  "1",
                                 "--policy", "reroute"};
    const auto cli = cli_request(options);
    QVERIFY(!cli.is_null());
    QCOMPARE(QString::fromStdString(panel_request(options, false).dump(2)),
             QString::fromStdString(cli.dump(2)));
    QVERIFY(!cli["model"].contains("preset"));
    QCOMPARE(cli["routing"]["tokens"].get<int>(), 0);
  }

 private:
  QTemporaryDir dir_;
};

}  // namespace moescope

QTEST_MAIN(moescope::FrontEndsTest)
#include "front_ends_test.moc"
