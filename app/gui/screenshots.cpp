#include "app/gui/screenshots.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QPixmap>
#include <QTabWidget>

#include "app/gui/main_window.h"
#include "core/base/error.h"

namespace moescope::gui {

QStringList save_screenshots(MainWindow& window, const QString& folder) {
  if (!QDir().mkpath(folder)) throw Error("screenshots: cannot create " + folder.toStdString());
  // The shown run loads off the GUI thread: wait until every view has it.
  QElapsedTimer clock;
  clock.start();
  while (window.loading() && clock.elapsed() < 120000)
    QApplication::processEvents(QEventLoop::AllEvents, 10);
  QStringList written;
  auto save = [&](QWidget* widget, const QString& name) {
    QApplication::processEvents();
    const QString path = QDir(folder).filePath(name + ".png");
    if (!widget->grab().save(path)) throw Error("screenshots: cannot write " + path.toStdString());
    written << path;
  };
  const QStringList names = {"overview", "heatmap", "timeline", "compare"};
  QTabWidget* tabs = window.tabs();
  const int current = tabs->currentIndex();
  for (int i = 0; i < tabs->count() && i < names.size(); ++i) {
    tabs->setCurrentIndex(i);
    save(tabs->currentWidget(), names[i]);
  }
  tabs->setCurrentIndex(current);
  save(&window, "window");
  return written;
}

}  // namespace moescope::gui
