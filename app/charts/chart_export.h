// Saving a chart as a file: PNG for slides and wikis, PDF (vector) for papers and print.
#pragma once

#include <functional>

#include <QString>

class QCustomPlot;

namespace moescope::charts {

struct ChartExportOptions {
  // The chart's size in logical pixels (1/96 inch): fonts and lines keep their size relative
  // to it whatever the DPI. PDF pages are width x height points.
  int width = 1200;
  int height = 700;
  // PNG only: the image is width x height scaled by dpi/96 (300 DPI: 3750 x 2188 for the
  // defaults), drawn at that resolution rather than upscaled, and the DPI is stored in the file.
  int dpi = 96;
};

// The format follows the extension (.png or .pdf, any case). Throws moescope::Error naming
// `path` for an unknown extension, a missing or unwritable folder, or a failed write; an
// existing file at `path` is then left as it was.
void export_chart(QCustomPlot& plot, const QString& path, const ChartExportOptions& options = {});

// Runs `write` on a temporary file beside `path` and renames it over `path` when `write`
// returns true, so readers never see a half-written file and a failure leaves the old one.
// Throws moescope::Error naming `path` when the folder is missing or `write` returns false;
// what `write` throws passes through, the temporary file removed.
void write_atomically(const QString& path, const std::function<bool(const QString& temp)>& write);

}  // namespace moescope::charts
