// Saves a PNG of the whole window and of every view: the README's screenshots come from it
// (scripts/screenshots.sh), and a user can attach the same pictures to a bug report.
#pragma once

#include <QString>
#include <QStringList>

namespace moescope::gui {

class MainWindow;

// Writes window.png, overview.png, heatmap.png, timeline.png and compare.png into `folder`
// (created when missing). Returns the paths written; throws Error when one cannot be saved.
QStringList save_screenshots(MainWindow& window, const QString& folder);

}  // namespace moescope::gui
