// moescope: the desktop app. `moescope [SESSION]` opens SESSION (created when missing), or the
// default session, which gets a demo run on first start.
#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QIcon>
#include <QSize>
#include <QTimer>
#include <cstdio>

#include "app/gui/main_window.h"
#include "app/gui/run_controller.h"
#include "app/gui/screenshots.h"
#include "core/base/blas.h"
#include "core/base/error.h"
#include "core/base/version.h"
#include "core/session/session_store.h"
#if defined(MOESCOPE_HAVE_CUDA)
#include "kernels/cuda_backend.h"
#include "kernels/cuda_device.h"
#endif

int main(int argc, char** argv) {
#if defined(MOESCOPE_HAVE_CUDA)
  moescope::kernels::register_cuda_backends();
#endif
  // Before any other thread exists: loading the BLAS sets its kernels through the environment. A
  // failure here comes back, with its message, when a CPU run starts.
  try {
    moescope::blas::kernels();
  } catch (const moescope::Error&) {
  }
  QApplication app(argc, argv);
  Q_INIT_RESOURCE(moescope);  // the resources live in the moescope_gui static library
  QApplication::setOrganizationName("MoEScope");
  QApplication::setApplicationName("moescope");
  QApplication::setApplicationDisplayName("MoEScope");
  QApplication::setApplicationVersion(moescope::version());
  QApplication::setWindowIcon(QIcon(":/moescope/icons/moescope.svg"));
  QApplication::setDesktopFileName("moescope");

  QCommandLineParser parser;
  parser.setApplicationDescription("MoEScope: the straggler effect in MoE inference, seen");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument("session",
                               "The session file to open (default: your default "
                               "session, with a demo run on first start)");
  QCommandLineOption no_demo("no-demo", "Do not make a demo run when the session is empty");
  parser.addOption(no_demo);
  QCommandLineOption screenshots("screenshots",
                                 "Save a PNG of the window and of every view into FOLDER (after "
                                 "the demo run, when one is made) and quit",
                                 "FOLDER");
  parser.addOption(screenshots);
  QCommandLineOption window_size("window-size", "Open the window at WIDTHxHEIGHT pixels",
                                 "WIDTHxHEIGHT");
  parser.addOption(window_size);
  parser.process(app);
  QSize size;
  if (parser.isSet(window_size)) {
    const QStringList parts = parser.value(window_size).toLower().split('x');
    bool ok_w = false;
    bool ok_h = false;
    if (parts.size() == 2) size = QSize(parts[0].toInt(&ok_w), parts[1].toInt(&ok_h));
    if (!ok_w || !ok_h || size.width() < 320 || size.height() < 240 || size.width() > 16384 ||
        size.height() > 16384) {
      std::fprintf(stderr,
                   "error: --window-size wants WIDTHxHEIGHT in pixels, e.g. 1366x768 "
                   "(at least 320x240), got '%s'\n",
                   qPrintable(parser.value(window_size)));
      return 2;
    }
  }

  moescope::gui::MainWindowOptions options;
  const QStringList args = parser.positionalArguments();
  // The demo goes only into a default session that did not exist before: never into a file
  // the user named, nor again after the user deleted its runs.
  options.session_path =
      args.isEmpty() ? moescope::default_session_path() : args.front().toStdString();
  options.demo_when_empty = args.isEmpty() && !parser.isSet(no_demo) &&
                            !QFileInfo::exists(QString::fromStdString(options.session_path));
  moescope::gui::MainWindow window(options);
#if defined(MOESCOPE_HAVE_CUDA)
  window.set_gpu_status(QString::fromStdString(moescope::kernels::describe_cuda_devices()));
#endif
  if (size.isValid()) {
    window.setWindowState(Qt::WindowNoState);  // a remembered maximized window ignores resize
    window.resize(size);
  }
  window.show();
  if (parser.isSet(screenshots)) {
    const QString folder = parser.value(screenshots);
    auto shoot = [&window, folder] {
      try {
        for (const QString& path : moescope::gui::save_screenshots(window, folder))
          std::printf("%s\n", qPrintable(path));
        QApplication::exit(0);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        QApplication::exit(1);
      }
    };
    // Let the window lay itself out; wait for the demo run when one is going.
    if (window.controller()->busy()) {
      QObject::connect(&window, &moescope::gui::MainWindow::run_ended, &window,
                       [shoot] { QTimer::singleShot(300, shoot); });
    } else {
      QTimer::singleShot(300, shoot);
    }
  }
  return app.exec();
}
