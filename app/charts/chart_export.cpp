#include "app/charts/chart_export.h"

#include <qcustomplot.h>
#include <QFile>
#include <QFileInfo>

#include "app/charts/compare_charts.h"
#include "core/base/error.h"
#include "core/base/file_output.h"

namespace moescope::charts {

namespace {

std::string quoted(const QString& path) {
  return "'" + path.toStdString() + "'";
}

}  // namespace

void write_atomically(const QString& path, const std::function<bool(const QString& temp)>& write) {
  write_file_atomically(path.toStdString(), "the file", [&](const std::string& temp) {
    return write(QFile::decodeName(temp.c_str()));  // the bytes of the name, as the OS has them
  });
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
