#include "app/charts/chart_export.h"

#include <filesystem>
#include <system_error>

#include <qcustomplot.h>
#include <QDir>
#include <QFileInfo>

#include "app/charts/compare_charts.h"
#include "core/base/error.h"

namespace moescope::charts {

namespace {

std::string quoted(const QString& path) {
  return "'" + path.toStdString() + "'";
}

}  // namespace

void write_atomically(const QString& path, const std::function<bool(const QString& temp)>& write) {
  const QFileInfo info(path);
  const QDir folder = info.absoluteDir();
  if (!folder.exists()) {
    throw Error("cannot write " + quoted(path) + ": the folder " +
                quoted(QDir::toNativeSeparators(folder.path())) + " does not exist");
  }
  if (info.isDir()) throw Error("cannot write " + quoted(path) + ": it is a folder");
  // Same folder as the target, so the rename below is atomic (no copy across file systems).
  const QString temp = path + ".part";
  const std::filesystem::path temp_path = temp.toStdString();
  bool written = false;
  try {
    written = write(temp);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp_path, ignored);
    throw;
  }
  std::error_code ec;
  if (!written) {
    std::filesystem::remove(temp_path, ec);
    const bool writable = QFileInfo(folder.path()).isWritable();
    throw Error("cannot write " + quoted(path) +
                (writable ? std::string(" (disk full?)")
                          : ": the folder " + quoted(folder.path()) + " is not writable"));
  }
  std::filesystem::rename(temp_path, std::filesystem::path(path.toStdString()), ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp_path, ignored);
    throw Error("cannot write " + quoted(path) + ": " + ec.message());
  }
}

void export_chart(QCustomPlot& plot, const QString& path, const ChartExportOptions& options) {
  const QString extension = QFileInfo(path).suffix().toLower();
  if (extension != "png" && extension != "pdf") {
    throw Error("cannot export a chart to " + quoted(path) + ": unknown extension '" +
                (extension.isEmpty() ? std::string() : "." + extension.toStdString()) +
                "' (use .png or .pdf)");
  }
  if (options.width <= 0 || options.height <= 0 || options.dpi <= 0) {
    throw Error("cannot export a chart to " + quoted(path) + ": size " +
                std::to_string(options.width) + "x" + std::to_string(options.height) + " at " +
                std::to_string(options.dpi) + " DPI is not positive");
  }
  // Legend columns and label wrapping follow the width; put them back for the widget on screen.
  fit_chart_to_width(plot, options.width);
  struct RestoreLegend {
    QCustomPlot& plot;
    ~RestoreLegend() { fit_chart_to_width(plot, plot.width()); }
  } restore{plot};
  write_atomically(path, [&](const QString& temp) {
    if (extension == "pdf") {
      return plot.savePdf(temp, options.width, options.height, QCP::epNoCosmetic, "MoEScope");
    }
    // Scaling draws every element at the higher resolution; a 96-DPI image blown up would blur.
    const double scale = options.dpi / 96.0;
    return plot.savePng(temp, options.width, options.height, scale, -1, options.dpi,
                        QCP::ruDotsPerInch);
  });
}

}  // namespace moescope::charts
